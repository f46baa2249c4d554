/* SPDX-License-Identifier: MIT */
#ifndef HOIST_BUILD_SANDBOX_H
#define HOIST_BUILD_SANDBOX_H

/*
 * RUN for `hoist build`: a command run inside an image's root filesystem.
 *
 * The command runs as PID 1 of new mount, PID, UTS and IPC namespaces
 * (clone(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC)), with the
 * host's network, after pivot_root into ROOT (chroot where pivot_root is
 * refused).  Inside it finds:
 * - /proc: a fresh procfs of its PID namespace; /sys read-only when the
 *   image has that directory;
 * - /dev: a tmpfs with null, zero, full, random, urandom and tty
 *   bind-mounted from the host, fd/stdin/stdout/stderr links, pts and shm;
 * - /etc/resolv.conf and /etc/hosts bind-mounted read-only from the host
 *   when the image has those files (regular files), so the image's own are
 *   untouched in the layer;
 * - stdin from /dev/null; stdout and stderr both to the output sink.
 * Every mount target is resolved inside ROOT, never through a symlink out
 * of it.  Mount points the image lacks (/proc, /dev) are created for the
 * run and removed afterwards; a missing WORKDIR is created, owned by the
 * user the command runs as, and stays (as with BuildKit).
 *
 * This isolates the build from the host's processes and mounts, not from
 * a hostile Dockerfile: the command runs as real root (no user namespace),
 * as with `buildah --isolation chroot`.  It needs root (CAP_SYS_ADMIN).
 */

#include <stddef.h>

#include "error.h"

struct sandbox_spec {
        const char *root;        /* the image's root filesystem, a directory on the host */
        const char *const *argv; /* the command; argv[0] without a '/' is searched in PATH */
        /* "K=V" strings, NULL-terminated, exactly the command's environment,
         * except that PATH (the Docker default) and HOME (from the user's
         * /etc/passwd entry, else "/") are added when absent.  NULL = none. */
        const char *const *env;
        const char *workdir; /* absolute path in the image; NULL or "" = "/" */
        /* "uid", "uid:gid", "name", "name:group" (names from the image's
         * /etc/passwd and /etc/group); NULL or "" = root.  A user found in
         * /etc/passwd gets its primary group and its /etc/group groups. */
        const char *user;
        const char *hostname; /* NULL = "hoist" */
        /* Output: ON_OUTPUT is called (in the calling thread) with each
         * chunk of the command's stdout and stderr as it arrives; when it is
         * NULL, both go to OUT_FD (-1: discarded). */
        void (*on_output)(void *userdata, const char *data, size_t len);
        void *userdata;
        int out_fd;
};

/* Runs the command and waits for it.  *ret_status is its exit code, or
 * 128+N when signal N killed it; a command that ran and failed is not an
 * error here.  Errors (-1): not root, namespaces refused by the kernel,
 * ROOT missing, a user the image does not know, a mount that failed, the
 * command not found in the image (HOIST_ERR_INPUT) or not executable. */
int sandbox_run(const struct sandbox_spec *spec, int *ret_status, struct hoist_error **err);

#endif

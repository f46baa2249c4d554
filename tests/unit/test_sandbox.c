/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "runner/image/sandbox.h"
#include "runner/image/snapshot.h"
#include "xalloc.h"

#define BUSYBOX "/bin/busybox"

static char *rootfs;

static void put(const char *rel, const char *content)
{
        char *p = path_join(rootfs, rel);
        char *dir = xstrdup(p);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
        assert_int_equal(fs_write_file_atomic(p, content, strlen(content), 0644, NULL), 0);
        free(dir);
        free(p);
}

/* A busybox image: the static busybox and its applets, users, groups. */
static int setup(void **state)
{
        (void)state;
        static const char *const applets[] = {"sh", "echo",     "id",   "cat",   "pwd",
                                              "ls", "touch",    "env",  "cut",   "head",
                                              "wc", "hostname", "test", "mount", NULL};
        rootfs = xstrdup("/tmp/hoist-test-sandbox-XXXXXX");
        assert_non_null(mkdtemp(rootfs));
        assert_int_equal(chmod(rootfs, 0755), 0); /* as an image's / is */
        char *bin = path_join(rootfs, "bin");
        char *bb = path_join(bin, "busybox");
        assert_int_equal(mkdir(bin, 0755), 0);
        assert_int_equal(fs_copy_file(BUSYBOX, bb, NULL), 0);
        assert_int_equal(chmod(bb, 0755), 0);
        for (int i = 0; applets[i]; i++) {
                char *l = path_join(bin, applets[i]);
                assert_int_equal(symlink("busybox", l), 0);
                free(l);
        }
        put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                          "builder:x:1000:1000:Builder:/home/builder:/bin/sh\n");
        put("etc/group", "root:x:0:\nbuilder:x:1000:\nextra:x:2000:someone,builder\n");
        put("etc/resolv.conf", "image-resolv\n");
        free(bin);
        free(bb);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        assert_int_equal(fs_remove_tree(rootfs, NULL), 0);
        free(rootfs);
        return 0;
}

static void collect(void *userdata, const char *data, size_t len)
{
        buf_append(userdata, data, len);
}

/* Runs `sh -c SCRIPT`; returns the exit status, output into OUT. */
static int sh(const char *script, const char *user, const char *workdir, const char *const *env,
              struct buf *out)
{
        const char *argv[] = {"sh", "-c", script, NULL};
        struct sandbox_spec spec = {
                .root = rootfs,
                .argv = argv,
                .env = env,
                .user = user,
                .workdir = workdir,
                .on_output = collect,
                .userdata = out,
                .out_fd = -1,
        };
        struct hoist_error *err = NULL;
        int status = -1;

        buf_reset(out);
        if (sandbox_run(&spec, &status, &err) < 0) {
                fail_msg("sandbox_run: %s", err->msg);
        }
        return status;
}

static void test_output_and_status(void **state)
{
        (void)state;
        struct buf out = {0};

        assert_int_equal(sh("echo hello; echo oops >&2; exit 3", NULL, NULL, NULL, &out), 3);
        assert_string_equal(out.data, "hello\noops\n");
        buf_free(&out);
}

static void test_namespaces(void **state)
{
        (void)state;
        struct buf out = {0};

        /* PID 1 of its own namespace, its own hostname, a private /proc. */
        assert_int_equal(sh("echo $$; hostname; test -r /proc/1/status && echo proc", NULL, NULL,
                            NULL, &out),
                         0);
        assert_string_equal(out.data, "1\nhoist\nproc\n");
        assert_int_equal(sh("test -c /dev/null && echo x > /dev/null && "
                            "head -c 5 /dev/zero | wc -c && test -c /dev/urandom",
                            NULL, NULL, NULL, &out),
                         0);
        assert_string_equal(out.data, "5\n");
        char *sys = path_join(rootfs, "sys");
        assert_int_equal(mkdir(sys, 0555), 0);
        assert_int_equal(
                sh("test -d /sys/kernel && echo sysfs; touch /sys/x 2>/dev/null || echo ro", NULL,
                   NULL, NULL, &out),
                0);
        assert_string_equal(out.data, "sysfs\nro\n");
        assert_int_equal(rmdir(sys), 0);
        free(sys);
        /* Only stdin, stdout and stderr are open; a fixed umask. */
        int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
        assert_true(leak >= 0);
        assert_int_equal(sh("ls /proc/self/fd; umask", NULL, NULL, NULL, &out), 0);
        close(leak);
        assert_string_equal(out.data, "0\n1\n2\n3\n0022\n");
        /* What RUN writes lands in the image, not on the host. */
        assert_int_equal(sh("touch /made-by-run", NULL, NULL, NULL, &out), 0);
        char *p = path_join(rootfs, "made-by-run");
        assert_true(fs_exists(p));
        assert_false(fs_exists("/made-by-run"));
        free(p);
        /* The mount points made for the run are gone again. */
        char *proc = path_join(rootfs, "proc"), *dev = path_join(rootfs, "dev");
        assert_false(fs_exists(proc));
        assert_false(fs_exists(dev));
        free(proc);
        free(dev);
        buf_free(&out);
}

static void test_users(void **state)
{
        (void)state;
        struct buf out = {0};

        assert_int_equal(sh("id -u; id -g; id -G; echo $HOME", "builder", NULL, NULL, &out), 0);
        assert_string_equal(out.data, "1000\n1000\n1000 2000\n/home/builder\n");
        assert_int_equal(sh("id -u; id -g; echo $HOME", "1234:55", NULL, NULL, &out), 0);
        assert_string_equal(out.data, "1234\n55\n/\n");
        /* A WORKDIR made for the run belongs to its user. */
        assert_int_equal(sh("touch mine && ls -n mine | cut -c1-30", "builder", "/home/builder/w",
                            NULL, &out),
                         0);
        char *home = path_join(rootfs, "home/builder");
        struct stat st;
        assert_int_equal(stat(home, &st), 0);
        assert_int_equal(st.st_uid, 1000);
        free(home);
        assert_int_equal(sh("id -u; id -g", "builder:extra", NULL, NULL, &out), 0);
        assert_string_equal(out.data, "1000\n2000\n");
        assert_int_equal(sh("id -u; id -G", NULL, NULL, NULL, &out), 0);
        assert_string_equal(out.data, "0\n0\n");

        const char *argv[] = {"id", NULL};
        struct sandbox_spec spec = {.root = rootfs, .argv = argv, .user = "ghost", .out_fd = -1};
        struct hoist_error *err = NULL;
        int status;
        assert_int_equal(sandbox_run(&spec, &status, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_non_null(strstr(err->msg, "'ghost'"));
        hoist_error_free(err);
        buf_free(&out);
}

static void test_env_and_workdir(void **state)
{
        (void)state;
        struct buf out = {0};
        const char *env[] = {"FOO=bar baz", NULL};

        assert_int_equal(sh("echo \"$FOO|$PATH\"; pwd", NULL, "/work/dir", env, &out), 0);
        assert_string_equal(out.data, "bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                      "/sbin:/bin\n/work/dir\n");
        char *wd = path_join(rootfs, "work/dir");
        assert_true(fs_is_dir(wd));
        free(wd);
        const char *env2[] = {"PATH=/nowhere", NULL};
        const char *argv[] = {"sh", "-c", "true", NULL};
        struct sandbox_spec spec = {.root = rootfs, .argv = argv, .env = env2, .out_fd = -1};
        struct hoist_error *err = NULL;
        int status;
        assert_int_equal(sandbox_run(&spec, &status, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_non_null(strstr(err->msg, "'sh' is not in the image"));
        hoist_error_free(err);
        buf_free(&out);
}

static void test_resolv_conf(void **state)
{
        (void)state;
        struct buf out = {0};
        char *host = NULL;
        size_t len;

        if (fs_read_file("/etc/resolv.conf", &host, &len, NULL) < 0) {
                print_message("skipped: the host has no /etc/resolv.conf\n");
                skip();
        }
        assert_int_equal(sh("cat /etc/resolv.conf; echo x >> /etc/resolv.conf && echo writable",
                            NULL, NULL, NULL, &out),
                         1);
        assert_memory_equal(out.data, host, len);
        assert_null(strstr(out.data, "writable"));
        free(host);
        char *img = path_join(rootfs, "etc/resolv.conf");
        char *data = NULL;
        assert_int_equal(fs_read_file(img, &data, &len, NULL), 0);
        assert_string_equal(data, "image-resolv\n");
        free(data);
        free(img);
        buf_free(&out);
}

static void test_out_fd(void **state)
{
        (void)state;
        int fd = memfd_create("out", MFD_CLOEXEC);
        const char *argv[] = {"echo", "to the fd", NULL};
        struct sandbox_spec spec = {.root = rootfs, .argv = argv, .out_fd = fd};
        struct hoist_error *err = NULL;
        char got[64] = "";
        int status = -1;

        assert_true(fd >= 0);
        assert_int_equal(sandbox_run(&spec, &status, &err), 0);
        assert_int_equal(status, 0);
        assert_int_equal(pread(fd, got, sizeof got - 1, 0), 10);
        assert_string_equal(got, "to the fd\n");
        close(fd);
}

static void test_not_root(void **state)
{
        (void)state;
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                const char *argv[] = {"true", NULL};
                struct sandbox_spec spec = {.root = rootfs, .argv = argv, .out_fd = -1};
                struct hoist_error *err = NULL;
                int st;
                if (setuid(65534) < 0)
                        _exit(2);
                _exit(sandbox_run(&spec, &st, &err) == -1 && strstr(err->msg, "root") ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int tar_names(const char *path, struct buf *out)
{
        char *cmd = xasprintf("tar -tf '%s' | sort", path);
        FILE *p = popen(cmd, "r");
        char line[512];

        free(cmd);
        if (p == NULL)
                return -1;
        buf_reset(out);
        while (fgets(line, sizeof line, p) != NULL)
                buf_append_str(out, line);
        return pclose(p);
}

/* RUN inside a build step: what the command changes is the layer, and the
 * sandbox's own mount points are not part of it. */
static void run_in_snapshot(enum snapshot_mode mode)
{
        struct snapshot *s = NULL;
        struct hoist_error *err = NULL;
        struct layer_info info = {0};
        struct buf out = {0};
        char *lp = xasprintf("%s.layer", rootfs);
        int empty = -1;

        put("victim", "v");
        assert_int_equal(snapshot_begin(rootfs, mode, &s, &err), 0);
        assert_int_equal(sh("echo hi > /hello && rm /victim && cat /etc/resolv.conf >/dev/null",
                            NULL, "/tmp", NULL, &out),
                         0);
        assert_int_equal(snapshot_commit(s, COMPRESSION_GZIP, 0, 0, lp, &info, &empty, &err), 0);
        snapshot_free(s);
        assert_int_equal(empty, 0);
        assert_int_equal(tar_names(lp, &out), 0);
        assert_string_equal(out.data, ".wh.victim\nhello\n");
        char *hello = path_join(rootfs, "hello");
        assert_true(fs_exists(hello));
        assert_int_equal(unlink(hello), 0);
        free(hello);
        layer_info_clear(&info);
        assert_int_equal(unlink(lp), 0);
        free(lp);
        buf_free(&out);
}

static void test_run_in_snapshot(void **state)
{
        (void)state;
        char *tmp = path_join(rootfs, "tmp");
        assert_int_equal(mkdir(tmp, 01777), 0);
        assert_int_equal(chmod(tmp, 01777), 0);
        free(tmp);
        run_in_snapshot(SNAPSHOT_OVERLAY);
        run_in_snapshot(SNAPSHOT_WALK);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_status),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_users),
                cmocka_unit_test(test_env_and_workdir),
                cmocka_unit_test(test_resolv_conf),
                cmocka_unit_test(test_out_fd),
                cmocka_unit_test(test_not_root),
                cmocka_unit_test(test_run_in_snapshot),
        };

        if (geteuid() != 0) {
                printf("test_sandbox: skipped, needs root (namespaces, mounts)\n");
                return 0;
        }
        if (access(BUSYBOX, X_OK) < 0) {
                printf("test_sandbox: skipped, needs a static %s (apt-get install "
                       "busybox-static)\n",
                       BUSYBOX);
                return 0;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: MIT */
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

static const struct provider_ops *const providers[] = {
        &provider_local,
};

static const char *const names[] = {"local", NULL};

const struct provider_ops *provider_find(const char *name)
{
        for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
                if (strcmp(providers[i]->name, name) == 0)
                        return providers[i];
        return NULL;
}

const char *const *provider_names(void)
{
        return names;
}

void provider_status_clear(struct provider_status *st)
{
        free(st->reason);
        st->reason = NULL;
}

static char *launch_lock_path(const char *state_dir)
{
        return path_join(state_dir, "launch.lock");
}

int provider_launch_lock(const char *state_dir, int wait_ms, int *ret_fd, struct hoist_error **err)
{
        _cleanup_free_ char *path = launch_lock_path(state_dir);
        _cleanup_close_ int fd = -1;
        const struct timespec tick = {0, 50 * 1000 * 1000};

        if (fs_mkdir_p(state_dir, 0700, err) < 0)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 50) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return hoist_error_errno(err, "lock '%s'", path);
                if (wait_ms >= 0 && waited >= wait_ms)
                        return 0;
                (void)nanosleep(&tick, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 1;
}

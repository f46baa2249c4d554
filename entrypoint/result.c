/* SPDX-License-Identifier: MIT */
#include "result.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "sagemaker.h"
#include "xalloc.h"

int result_publish(const struct jobspec *spec, struct storage *st, const struct stage *s,
                   struct hoist_error **err)
{
        _cleanup_free_ char *prefix = job_prefix(spec, spec->output_prefix, "output");
        _cleanup_free_ char *model = xasprintf("%s/model", prefix);
        _cleanup_free_ char *artifacts = xasprintf("%s/artifacts", prefix);

        if (stage_upload_tree(st, s->model_dir, model, err) < 0)
                return hoist_error_wrap(err, "upload the model dir '%s'", s->model_dir);
        if (stage_upload_tree(st, s->output_dir, artifacts, err) < 0)
                return hoist_error_wrap(err, "upload the output dir '%s'", s->output_dir);
        return 0; /* checkpoints: checkpoint_finish() */
}

const char *result_status(const struct init_result *r)
{
        /* SIGTERM from outside (spot reclaim, docker stop): the runner tells
         * a user's cancel from an interruption (reconcile.c). */
        if (r->stop_signal != 0 && !r->timed_out)
                return "interrupted";
        if (r->end == INIT_EXITED && r->exit_code == 0)
                return "succeeded";
        return "failed";
}

char *result_reason(const struct init_result *r, const char *command, int64_t max_runtime_s,
                    const char *stderr_tail)
{
        if (r->timed_out)
                return xasprintf("exceeded max runtime of %llds", (long long)max_runtime_s);
        switch (r->end) {
        case INIT_NOT_FOUND:
                return xasprintf("command '%s' not found", command);
        case INIT_NOT_EXECUTABLE:
                return xasprintf("'%s' is not executable: %s", command, strerror(r->code));
        case INIT_SIGNALED:
                if (r->stop_signal != 0)
                        return xasprintf("stopped by %s; killed by signal %d (%s)",
                                         init_signal_name(r->stop_signal), r->code,
                                         init_signal_name(r->code));
                return xasprintf("killed by signal %d (%s)", r->code, init_signal_name(r->code));
        case INIT_EXITED:
                break;
        }
        if (r->stop_signal != 0)
                return xasprintf("stopped by %s; exited with code %d",
                                 init_signal_name(r->stop_signal), r->code);
        if (r->code == 0)
                return NULL;
        if (stderr_tail != NULL)
                return xstrdup(stderr_tail);
        return xasprintf("exited with code %d", r->code);
}

static int put_record(struct storage *st, const char *key, const struct jobspec_result *rec,
                      struct hoist_error **err)
{
        _cleanup_free_ char *json = jobspec_result_to_json(rec);

        if (json == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "encode the result record");
        if (storage_put_bytes(st, key, json, strlen(json), err) < 0)
                return hoist_error_wrap(err, "write the result record");
        log_debug("wrote %s", key);
        return 0;
}

int result_write(const struct jobspec *spec, struct storage *st, const struct jobspec_result *rec,
                 struct hoist_error **err)
{
        _cleanup_free_ char *key = job_result_key(spec);

        return put_record(st, key, rec, err);
}

int result_write_node(const struct jobspec *spec, struct storage *st,
                      const struct jobspec_result *rec, struct hoist_error **err)
{
        _cleanup_free_ char *key = job_node_result_key(spec, rec->node);

        if (storage_key_check(key, err) < 0)
                return hoist_error_wrap(err, "node '%s'", rec->node);
        return put_record(st, key, rec, err);
}

/* REASON into PATH; with KEEP, not over a file that is there already
 * (SageMaker's failure file: the trainer's own words win). */
static void write_failure_file(const char *path, const char *reason, int keep)
{
        size_t len = strlen(reason);
        _cleanup_close_ int fd = -1;

        if (len > RESULT_FAILURE_MAX) { /* cut at a UTF-8 character boundary */
                len = RESULT_FAILURE_MAX;
                while (len > 0 && ((unsigned char)reason[len] & 0xc0) == 0x80)
                        len--;
        }
        fd = open(path, O_WRONLY | O_CREAT | (keep ? O_EXCL : O_TRUNC) | O_CLOEXEC, 0644);
        if (fd < 0 && keep && errno == EEXIST) {
                log_debug("'%s' is there already; keeping it", path);
                return;
        }
        if (fd < 0 || fs_write_all(fd, reason, len) < 0 || fs_write_all(fd, "\n", 1) < 0)
                log_warn("cannot write the failure reason to '%s' (%s), ignoring", path,
                         strerror(errno));
        else
                log_debug("wrote the failure reason to %s", path);
}

void result_write_failure(const char *reason)
{
        const char *tlog = getenv("HOIST_TERMINATION_LOG");
        _cleanup_free_ char *sm_output = NULL, *sm_failure = NULL;

        if (reason == NULL || *reason == '\0')
                return;
        sm_output = path_join(sagemaker_root(), "output");
        sm_failure = path_join(sm_output, "failure");
        if (tlog != NULL && *tlog != '\0')
                write_failure_file(tlog, reason, 0);
        else if (access("/dev/termination-log", F_OK) == 0)
                write_failure_file("/dev/termination-log", reason, 0);
        if (fs_is_dir(sm_output))
                write_failure_file(sm_failure, reason, 1);
}

int64_t result_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

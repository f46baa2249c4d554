/* SPDX-License-Identifier: MIT */
/*
 * What the Slurm provider reads back from the engine (sbatch --parsable,
 * squeue, scontrol show job -o, sacct -P): any bytes give a status or an
 * error, never a crash or a leak.  The input is fed to each parser with the
 * provider's formats, then again with its first line as the format (squeue
 * -o, sacct --format) and the rest as the output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "providers/slurm_parse.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A status is whole: a known state and outcome, a reason that prints. */
static void check(int r, struct slurm_job_status *s, struct hoist_error **err)
{
        enum slurm_outcome o;
        char *why;

        if ((r < 0) != (*err != NULL))
                abort();
        if (r < 0) {
                if ((*err)->msg == NULL)
                        abort();
                hoist_error_release(err);
                return;
        }
        if (s->job_id == NULL || s->state == NULL || slurm_state_outcome(s->state, &o, err) < 0 ||
            o != s->outcome || s->exit_code < -1 || s->exit_code > 255 || s->exit_signal < 0 ||
            s->exit_signal > 255)
                abort();
        why = slurm_job_status_reason(s);
        if (strncmp(why, s->state, strlen(s->state)) != 0)
                abort();
        free(why);
        slurm_job_status_clear(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        _cleanup_free_ char *format = NULL;
        char *nl = strchr(text, '\n');
        const char *rest = nl != NULL ? nl + 1 : "";
        struct hoist_error *err = NULL;
        struct slurm_job_status s;
        char *id = NULL, *cluster = NULL;
        int64_t secs;
        int code, sig;

        if (slurm_parse_sbatch(text, &id, &cluster, &err) == 0) {
                if (err != NULL || id == NULL || strlen(id) > 10)
                        abort();
                free(id);
                free(cluster);
        } else if (err == NULL || id != NULL) {
                abort();
        }
        hoist_error_release(&err);

        check(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, text, "42", &s, &err), &s, &err);
        check(slurm_parse_scontrol_job(text, "42", &s, &err), &s, &err);
        check(slurm_parse_sacct(SLURM_SACCT_FIELDS, text, "42", &s, &err), &s, &err);

        format = xstrndup(text, nl != NULL ? (size_t)(nl - text) : strlen(text));
        check(slurm_parse_squeue(format, rest, "42", &s, &err), &s, &err);
        check(slurm_parse_sacct(format, rest, "42", &s, &err), &s, &err);

        if (slurm_parse_duration(format, &secs) == 0 && secs < 0)
                abort();
        if (slurm_parse_exit_code(format, &code, &sig) == 0 &&
            (code < 0 || code > 255 || sig < 0 || sig > 255))
                abort();
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The Slurm provider's settings: job.yaml's slurm: section (typed by a
 * person) and run/<id>/slurm.json (read back by later attempts).  Any bytes
 * give settings or an error, never a crash or a leak; settings that load
 * go through slurm.json and back unchanged, and what the provider renders
 * from them keeps each value on its own line and never starts an option
 * of the user's with something other than what was written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "jobspec.h"
#include "providers/slurm_script.h"
#include "providers/slurm_settings.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct slurm_settings *s)
{
        _cleanup_free_ char *json = slurm_settings_to_json(s);
        _cleanup_free_ char *again = NULL;
        struct slurm_settings *back = NULL;
        struct hoist_error *err = NULL;

        if (slurm_settings_from_json(json, strlen(json), "slurm.json", &back, &err) < 0)
                abort();
        again = slurm_settings_to_json(back);
        if (strcmp(json, again) != 0)
                abort();
        slurm_settings_free(back);
}

/* The script and sbatch's argv from S: no value of the user's makes a line
 * of its own in the script (they are all quoted, and none holds a newline). */
static void render(const struct slurm_settings *s)
{
        struct jobspec *spec = jobspec_new();
        struct slurm_plan p = {
                .set = s,
                .spec = spec,
                .job_id = "j-000000000001",
                .job_url = "file:///srv/hoist/jobs/j-000000000001/job.json",
                .storage_root = "/srv/hoist",
                .image = "localhost/x:1",
                .dir = "/home/me/.cache/hoist/jobs/j-000000000001",
                .bundle = "/home/me/.cache/hoist/bundles/0123",
                .secrets = 1,
        };
        char **argv = NULL;
        struct hoist_error *err = NULL;
        char *text;

        spec->command = xcalloc(2, sizeof *spec->command);
        spec->command[0] = xstrdup("train.py");
        if (slurm_sbatch_argv(&p, &argv, &err) == 0) {
                for (char **a = argv; *a != NULL; a++)
                        if (strchr(*a, '\n') != NULL)
                                abort();
                strv_free(argv);
        } else {
                hoist_error_free(err);
        }
        text = slurm_batch_script(&p);
        if (strstr(text, "\n#SBATCH") != NULL)
                abort();
        free(text);
        jobspec_free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct slurm_settings *s = NULL;
        struct config_node *root = NULL;
        struct hoist_error *err = NULL;

        if (slurm_settings_from_json((const char *)data, size, "slurm.json", &s, &err) == 0) {
                roundtrip(s);
                slurm_settings_free(s);
                s = NULL;
        } else {
                if (err == NULL || err->msg == NULL)
                        abort();
                hoist_error_release(&err);
        }
        if (config_parse((const char *)data, size, "job.yaml", &root, &err) < 0) {
                hoist_error_release(&err);
                return 0;
        }
        if (slurm_settings_load(root, "job.yaml", &s, &err) == 0) {
                roundtrip(s);
                render(s);
                slurm_settings_free(s);
        } else {
                if (err == NULL || strstr(err->msg, "job.yaml") == NULL)
                        abort();
                hoist_error_release(&err);
        }
        config_node_free(root);
        return 0;
}

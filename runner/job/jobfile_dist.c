/* SPDX-License-Identifier: MIT */
#include "runner/job/jobfile_dist.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/job/jobfile.h"
#include "xalloc.h"

static const char *const dist_fields[] = {
        "launcher", "nproc_per_node", "port", "checkpoints_per_rank",
        "check",    "oversubscribe",  NULL};
static const char *const check_fields[] = {"samples", "from_input", "batch_size", "grad_accum",
                                           NULL};

/* A section left empty ("distributed:" with every entry commented out) is absent. */
static const struct config_node *section(const struct config_node *root, const char *key)
{
        const struct config_node *n = config_get(root, key);

        return config_is_null(n) ? NULL : n;
}

static int load_nodes(const struct config_node *root, struct jobfile_dist *d,
                      struct hoist_error **err)
{
        const struct config_node *res = section(root, "resources");
        const struct config_node *v;

        if (res == NULL || res->type != CONFIG_MAPPING || (v = config_get(res, "nodes")) == NULL)
                return 0;
        d->nodes_line = v->line;
        return config_get_int(v, "resources.nodes", 1, JOBFILE_MAX_NODES, &d->nodes, err);
}

static int load_launcher(const struct config_node *v, struct jobfile_dist *d,
                         struct hoist_error **err)
{
        _cleanup_free_ char *s = NULL;
        int l;

        if (config_get_string(v, "distributed.launcher", &s, err) < 0)
                return -1;
        l = jobspec_launcher_parse(s);
        if (l < 0) {
                _cleanup_free_ char *q = config_quote(s);
                return config_error(v, "distributed.launcher", err,
                                    "unknown launcher %s (known: hoist, torchrun, accelerate, "
                                    "none)",
                                    q);
        }
        d->launcher = (enum jobspec_launcher)l;
        return 0;
}

static int load_nproc(const struct config_node *v, struct jobfile_dist *d, struct hoist_error **err)
{
        if (v->type == CONFIG_SCALAR && strcmp(v->text, "auto") == 0) {
                d->nproc_per_node = 0;
                return 0;
        }
        if (v->type == CONFIG_SCALAR && (v->text[0] < '0' || v->text[0] > '9'))
                return config_error(v, "distributed.nproc_per_node", err,
                                    "expected 'auto' or a number of processes from 1 to %d, got "
                                    "'%.32s'",
                                    JOBSPEC_MAX_NPROC, v->text);
        return config_get_int(v, "distributed.nproc_per_node", 1, JOBSPEC_MAX_NPROC,
                              &d->nproc_per_node, err);
}

/* from_input must name one of job.yaml's inputs. */
static int check_channel(const struct config_node *v, const char *channel, const struct jobfile *jf,
                         struct hoist_error **err)
{
        _cleanup_free_ char *q = config_quote(channel);
        struct buf known = {0};
        _cleanup_free_ char *list = NULL;

        for (size_t i = 0; i < jf->n_inputs; i++)
                if (strcmp(jf->inputs[i].channel, channel) == 0)
                        return 0;
        for (size_t i = 0; i < jf->n_inputs; i++)
                buf_printf(&known, "%s%s", i ? ", " : "", jf->inputs[i].channel);
        list = buf_take(&known);
        if (jf->n_inputs == 0)
                return config_error(v, "distributed.check.from_input", err,
                                    "%s is not an input: job.yaml has no inputs: (give the "
                                    "dataset as an input, or the count as samples: N)",
                                    q);
        return config_error(v, "distributed.check.from_input", err,
                            "%s is not an input (job.yaml's inputs: %s)", q, list);
}

static int load_check(const struct config_node *n, const struct jobfile *jf, struct jobfile_dist *d,
                      struct hoist_error **err)
{
        struct jobfile_dist_check *c = xzalloc(sizeof *c);
        const struct config_node *v;

        d->check = c;
        c->line = n->line;
        c->samples = -1;
        c->grad_accum = 1;
        if (config_check_mapping(n, "distributed.check", err) < 0 ||
            config_check_keys(n, "distributed.check", check_fields, err) < 0)
                return -1;
        if ((config_get(n, "samples") == NULL) == (config_get(n, "from_input") == NULL))
                return config_error(n, "distributed.check", err,
                                    "give the dataset's size as one of samples: N or "
                                    "from_input: CHANNEL (an input to count), not %s",
                                    config_get(n, "samples") ? "both" : "neither");
        if ((v = config_get(n, "samples")) != NULL &&
            config_get_int(v, "distributed.check.samples", 0, INT64_MAX, &c->samples, err) < 0)
                return -1;
        if ((v = config_get(n, "from_input")) != NULL &&
            (config_get_string(v, "distributed.check.from_input", &c->from_input, err) < 0 ||
             check_channel(v, c->from_input, jf, err) < 0))
                return -1;
        if ((v = config_get(n, "batch_size")) == NULL)
                return config_error(n, "distributed.check", err,
                                    "batch_size: is missing (the per-GPU batch size the "
                                    "training script uses)");
        if (config_get_int(v, "distributed.check.batch_size", 1, INT32_MAX, &c->batch_size, err) <
            0)
                return -1;
        if ((v = config_get(n, "grad_accum")) != NULL &&
            config_get_int(v, "distributed.check.grad_accum", 1, INT32_MAX, &c->grad_accum, err) <
                    0)
                return -1;
        return 0;
}

static int load_dist(const struct config_node *n, struct jobfile *jf, struct jobfile_dist *d,
                     struct hoist_error **err)
{
        const struct config_node *v;

        if (config_check_mapping(n, "distributed", err) < 0 ||
            config_check_keys(n, "distributed", dist_fields, err) < 0)
                return -1;
        if ((v = config_get(n, "launcher")) != NULL && load_launcher(v, d, err) < 0)
                return -1;
        if ((v = config_get(n, "nproc_per_node")) != NULL && load_nproc(v, d, err) < 0)
                return -1;
        if ((v = config_get(n, "port")) != NULL &&
            config_get_int(v, "distributed.port", 1, 65535, &d->port, err) < 0)
                return -1;
        if ((v = config_get(n, "checkpoints_per_rank")) != NULL &&
            config_get_bool(v, "distributed.checkpoints_per_rank", &d->checkpoints_per_rank, err) <
                    0)
                return -1;
        if ((v = config_get(n, "oversubscribe")) != NULL &&
            config_get_bool(v, "distributed.oversubscribe", &d->oversubscribe, err) < 0)
                return -1;
        if ((v = section(n, "check")) != NULL) {
                if (load_check(v, jf, d, err) < 0)
                        return -1;
                d->check->line = config_get_pair(n, "check")->key_line;
        }
        return 0;
}

int jobfile_dist_load(const struct config_node *root, const char *file, struct jobfile *jf,
                      struct hoist_error **err)
{
        struct jobfile_dist *d = xzalloc(sizeof *d);
        const struct config_node *n;

        (void)file;
        d->nodes = 1;
        jf->dist = d;
        if (load_nodes(root, d, err) < 0)
                return -1;
        if ((n = section(root, "distributed")) == NULL)
                return 0;
        d->line = config_get_pair(root, "distributed")->key_line;
        return load_dist(n, jf, d, err);
}

void jobfile_dist_free(struct jobfile *jf)
{
        if (jf->dist == NULL)
                return;
        if (jf->dist->check != NULL)
                free(jf->dist->check->from_input);
        free(jf->dist->check);
        free(jf->dist);
        jf->dist = NULL;
}

void jobfile_dist_fill_spec(const struct jobfile *jf, struct jobspec *spec)
{
        const struct jobfile_dist *d = jf->dist;

        spec->nodes = d->nodes;
        /* A job of one node without distributed: keeps its job.json. */
        if (d->nodes == 1 && d->line == 0)
                return;
        spec->gpus_per_node = jf->resources.gpus;
        free(spec->launcher);
        spec->launcher = d->launcher == JOBSPEC_LAUNCHER_NONE && d->line == 0
                                 ? NULL
                                 : xstrdup(jobspec_launcher_name(d->launcher));
        spec->nproc_per_node = d->nproc_per_node;
        spec->port = d->port;
        spec->checkpoints_per_rank = d->checkpoints_per_rank;
}

/* SPDX-License-Identifier: MIT */
#include "runner/job/distcheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ignore.h"
#include "runner/job/jobfile.h"
#include "runner/job/jobfile_code.h"
#include "runner/job/jobfile_dist.h"
#include "log.h"
#include "xalloc.h"

int64_t distcheck_world_size(const struct jobfile *jf)
{
        int64_t nproc = jf->dist->nproc_per_node;

        if (nproc <= 0)
                nproc = jf->resources.gpus > 0 ? jf->resources.gpus : 1;
        return jf->dist->nodes * nproc;
}

/* Counts the kept regular files below ROOT/REL ("" for ROOT), in tree order
 * (ignore_tree_check wants a directory before its entries). */
static int count_tree(struct ignore_tree *rules, const char *root, const char *rel, uint64_t *count,
                      struct hoist_error **err)
{
        _cleanup_free_ char *dir = *rel ? path_join(root, rel) : xstrdup(root);
        _cleanup_free_ struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);
        int r = 0;

        if (n < 0)
                return hoist_error_errno(err, "read the directory '%s'", dir);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ struct dirent *entry = names[i];
                const char *name = entry->d_name;
                _cleanup_free_ char *sub = NULL, *full = NULL;
                enum ignore_verdict v;
                struct stat st;

                if (r < 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                sub = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                full = path_join(root, sub);
                if (lstat(full, &st) < 0) {
                        r = hoist_error_errno(err, "stat '%s'", full);
                        continue;
                }
                if (ignore_tree_check(rules, sub, &st, &v, err) < 0) {
                        r = -1;
                        continue;
                }
                /* The ignore files go up with the data but are not samples. */
                if (v != IGNORE_KEEP || strcmp(name, ".gitignore") == 0 ||
                    strcmp(name, ".hoistignore") == 0)
                        continue;
                if (S_ISREG(st.st_mode))
                        (*count)++;
                else if (S_ISDIR(st.st_mode) && count_tree(rules, root, sub, count, err) < 0)
                        r = -1;
        }
        return r;
}

static int count_lines(const char *path, uint64_t *ret, struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[65536];
        uint64_t lines = 0;
        int in_line = 0; /* the current line has a byte other than '\r' */
        ssize_t n;

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        while ((n = read(fd, buf, sizeof buf)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return hoist_error_errno(err, "read '%s'", path);
                }
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] == '\n') {
                                lines += in_line;
                                in_line = 0;
                        } else if (buf[i] != '\r') {
                                in_line = 1;
                        }
                }
        }
        *ret = lines + in_line;
        return 0;
}

int distcheck_count_samples(const char *path, char *const *include, uint64_t *ret,
                            struct hoist_error **err)
{
        _cleanup_ignore_tree_ struct ignore_tree *rules = NULL;
        uint64_t count = 0;

        if (!fs_is_dir(path))
                return count_lines(path, ret, err);
        if (ignore_tree_open(path, include, &rules, err) < 0 ||
            count_tree(rules, path, "", &count, err) < 0)
                return -1;
        *ret = count;
        return 0;
}

char *distcheck_explain(uint64_t samples, const char *source, int64_t batch_size, int64_t world,
                        int64_t nodes, int64_t nproc, int64_t grad_accum)
{
        uint64_t need = (uint64_t)batch_size * (uint64_t)world * (uint64_t)grad_accum;
        uint64_t fit = samples / ((uint64_t)world * (uint64_t)grad_accum);
        _cleanup_free_ char *lower = NULL;

        if (samples >= need)
                return NULL;
        lower = fit > 0 ? xasprintf("at most %llu fits", (unsigned long long)fit)
                        : xasprintf("even 1 needs %llu samples",
                                    (unsigned long long)world * (unsigned long long)grad_accum);
        return xasprintf(
                "%s has %llu %s but one optimizer step takes %llu: the effective "
                "batch size is batch_size %lld x %lld %s (%lld %s x %lld per node) x grad_accum "
                "%lld = %llu. Ways out: lower batch_size (%s), lower grad_accum, "
                "run on fewer GPUs or nodes, or add data (at least %llu samples)",
                source ? source : "the dataset", (unsigned long long)samples,
                samples == 1 ? "sample" : "samples", (unsigned long long)need,
                (long long)batch_size, (long long)world, world == 1 ? "process" : "processes",
                (long long)nodes, nodes == 1 ? "node" : "nodes", (long long)nproc,
                (long long)grad_accum, (unsigned long long)need, lower, (unsigned long long)need);
}

int distcheck_provider(const struct jobfile *jf, const char *provider, int multi_node,
                       struct hoist_error **err)
{
        if (jf->dist->nodes <= 1 || multi_node)
                return 0;
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "'%s':%d: resources.nodes: %lld, but provider '%s' runs a job on "
                                "one node (use a provider that runs several, like slurm, or "
                                "nodes: 1 with distributed.nproc_per_node for the GPUs of one "
                                "machine)",
                                jf->path, jf->dist->nodes_line, (long long)jf->dist->nodes,
                                provider);
}

static const struct jobfile_input *find_input(const struct jobfile *jf, const char *channel)
{
        for (size_t i = 0; i < jf->n_inputs; i++)
                if (strcmp(jf->inputs[i].channel, channel) == 0)
                        return &jf->inputs[i];
        return NULL;
}

int distcheck_run(const struct jobfile *jf, struct hoist_error **err)
{
        const struct jobfile_dist_check *c = jf->dist->check;
        int64_t world = distcheck_world_size(jf);
        uint64_t samples;
        _cleanup_free_ char *why = NULL, *source = NULL;

        if (c == NULL)
                return 0;
        if (c->samples >= 0) {
                samples = (uint64_t)c->samples;
        } else {
                const struct jobfile_input *in = find_input(jf, c->from_input);
                _cleanup_strv_ char **include = NULL;
                if (in == NULL) /* jobfile_dist_load checked it */
                        return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d: no input '%s'",
                                                jf->path, c->line, c->from_input);
                include = jobfile_code_includes_in(jf, in->path);
                if (distcheck_count_samples(in->path, include, &samples, err) < 0)
                        return hoist_error_wrap(err, "'%s':%d: distributed.check: count input '%s'",
                                                jf->path, c->line, c->from_input);
                source = xasprintf("input '%s' (%s)", c->from_input,
                                   fs_is_dir(in->path) ? "its files" : "its non-empty lines");
        }
        why = distcheck_explain(samples, source, c->batch_size, world, jf->dist->nodes,
                                world / jf->dist->nodes, c->grad_accum);
        if (why == NULL)
                return 0;
        if (jf->dist->oversubscribe) {
                log_warn("'%s':%d: distributed.check: %s; running anyway, as "
                         "distributed.oversubscribe: true says (samples repeat within a step)",
                         jf->path, c->line, why);
                return 0;
        }
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "'%s':%d: distributed.check: %s; or set "
                                "distributed.oversubscribe: true to run it anyway",
                                jf->path, c->line, why);
}

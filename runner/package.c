/* SPDX-License-Identifier: MIT */
#include "package.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "progress.h"
#include "xalloc.h"

/* Uploads FILE to KEY with a progress line for input CHANNEL. */
static int upload(struct storage *st, const char *key, const char *file, const char *channel,
                  struct hoist_error **err)
{
        _cleanup_free_ char *label = xasprintf("input '%s'", channel);
        _cleanup_progress_ struct progress *p = progress_new(label);
        int r;

        storage_set_progress(st, progress_update, p);
        r = storage_put_file(st, key, file, err);
        storage_set_progress(st, NULL, NULL);
        return r;
}

/* Stores FILE (already hashed to HEX) as a blob unless it is there already. */
static int put_blob(struct storage *st, const char *file, const char *hex, uint64_t size,
                    const char *channel, struct package_stats *stats, char **ret_key,
                    struct hoist_error **err)
{
        _cleanup_free_ char *key = xasprintf("blobs/sha256/%s", hex);
        uint64_t have = 0;
        int r = storage_exists(st, key, &have, err);

        if (r < 0)
                return -1;
        if (r == 1 && have == size) {
                stats->bytes_unchanged += size;
                stats->blobs_unchanged++;
        } else {
                if (upload(st, key, file, channel, err) < 0)
                        return -1;
                stats->bytes_uploaded += size;
                stats->blobs_uploaded++;
        }
        *ret_key = TAKE_PTR(key);
        return 0;
}

static int package_one(const struct jobfile_input *in, struct storage *st, const char *tmp_dir,
                       struct jobspec_input *out, struct package_stats *stats,
                       struct hoist_error **err)
{
        char hex[DIGEST_HEX_LEN + 1];
        uint64_t size = 0;
        _cleanup_free_ char *key = NULL;
        struct stat s;

        if (stat(in->path, &s) < 0)
                return hoist_error_errno(err, "input '%s': '%s'", in->channel, in->path);
        if (S_ISDIR(s.st_mode)) {
                _cleanup_free_ char *tar =
                        xasprintf("%s/input-%s-%d.tar", tmp_dir, in->channel, (int)getpid());
                int r = archive_create_tar(in->path, tar, hex, &size, err);
                if (r == 0)
                        r = put_blob(st, tar, hex, size, in->channel, stats, &key, err);
                (void)unlink(tar);
                if (r < 0)
                        return hoist_error_wrap(err, "input '%s' ('%s')", in->channel, in->path);
                out->mode = JOBSPEC_INPUT_ARCHIVE;
        } else if (S_ISREG(s.st_mode)) {
                if (digest_file_hex(in->path, hex, &size, err) < 0 ||
                    put_blob(st, in->path, hex, size, in->channel, stats, &key, err) < 0)
                        return hoist_error_wrap(err, "input '%s'", in->channel);
                const char *base = strrchr(in->path, '/');
                out->filename = xstrdup(base ? base + 1 : in->path);
                out->mode = JOBSPEC_INPUT_FILE;
        } else {
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "input '%s': '%s' is neither a file nor a directory",
                                        in->channel, in->path);
        }
        out->channel = xstrdup(in->channel);
        out->sha256 = xstrdup(hex);
        out->size = size;
        /* A bare key: an object of the job's own storage, wherever that is. */
        out->source = TAKE_PTR(key);
        return 0;
}

/* Refuses, before any input is sent, an input tree that hoist-entrypoint
 * would refuse to extract. */
static int check_inputs(const struct jobfile *jf, struct hoist_error **err)
{
        for (size_t i = 0; i < jf->n_inputs; i++) {
                const struct jobfile_input *in = &jf->inputs[i];
                if (fs_is_dir(in->path) && archive_check_tree(in->path, err) < 0)
                        return hoist_error_wrap(err, "'%s':%d: input '%s' ('%s')", jf->path,
                                                in->line, in->channel, in->path);
        }
        return 0;
}

int package_inputs(const struct jobfile *jf, struct storage *st, const char *tmp_dir,
                   struct jobspec *spec, struct package_stats *stats, struct hoist_error **err)
{
        if (jf->n_inputs == 0)
                return 0;
        if (check_inputs(jf, err) < 0)
                return -1;
        spec->inputs = xcalloc(jf->n_inputs, sizeof *spec->inputs);
        for (size_t i = 0; i < jf->n_inputs; i++) {
                /* n_inputs counts only completed entries, so jobspec_free() never
                 * sees a half-filled one. */
                struct jobspec_input in = {0};
                if (package_one(&jf->inputs[i], st, tmp_dir, &in, stats, err) < 0) {
                        free(in.channel);
                        free(in.filename);
                        free(in.sha256);
                        free(in.source);
                        return -1;
                }
                spec->inputs[spec->n_inputs++] = in;
        }
        return 0;
}

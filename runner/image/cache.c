/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "runner/image/cache.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

struct build_cache {
        char *dir;
};

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Each field is length-prefixed, so no choice of text can make two inputs
 * hash alike. */
static void key_field(struct digest_ctx *d, const char *name, const char *value)
{
        char head[64];
        size_t len = value ? strlen(value) : 0;
        int n = snprintf(head, sizeof head, "%s:%zu%s:", name, len, value ? "" : "-");

        digest_update(d, head, (size_t)n);
        if (value != NULL)
                digest_update(d, value, len);
        digest_update(d, "\n", 1);
}

void cache_key(const struct cache_key_input *in, char ret_hex[65])
{
        struct digest_ctx *d = digest_new();
        size_t n = 0;

        key_field(d, "v", "hoist-build-cache/2");
        key_field(d, "parent", in->parent);
        key_field(d, "instruction", in->instruction);
        key_field(d, "content", in->content);
        key_field(d, "compression", in->compression);
        while (in->args != NULL && in->args[n] != NULL)
                n++;
        if (n > 0) {
                _cleanup_free_ const char **sorted = xcalloc(n, sizeof *sorted);
                memcpy(sorted, in->args, n * sizeof *sorted);
                qsort(sorted, n, sizeof *sorted, cmp_str);
                for (size_t i = 0; i < n; i++)
                        key_field(d, "arg", sorted[i]);
        }
        digest_final_hex(d, ret_hex);
}

/* ---- content of COPY/ADD sources ---- */

static int cmp_source(const void *pa, const void *pb)
{
        const struct cache_source *a = pa, *b = pb;

        if (a->match != b->match)
                return a->match < b->match ? -1 : 1;
        return strcmp(a->dest, b->dest);
}

static int hash_one(struct digest_ctx *d, const char *root, const struct cache_source *s,
                    struct hoist_error **err)
{
        _cleanup_free_ char *abs = path_join(root, s->path);
        char line[128];

        (void)snprintf(line, sizeof line, "%zu\t%o\t%u:%u\t%lld", s->match,
                       (unsigned)s->st->st_mode, (unsigned)s->st->st_uid, (unsigned)s->st->st_gid,
                       (long long)s->st->st_size);

        key_field(d, "path", s->path);
        key_field(d, "dest", s->dest);
        key_field(d, "stat", line);
        if (S_ISREG(s->st->st_mode)) {
                char hex[DIGEST_HEX_LEN + 1];
                if (digest_file_hex(abs, hex, NULL, err) < 0)
                        return hoist_error_wrap(err, "source '%s'", s->path);
                key_field(d, "sha256", hex);
        } else if (S_ISLNK(s->st->st_mode)) {
                char target[4096];
                ssize_t t = readlink(abs, target, sizeof target - 1);
                if (t < 0)
                        return hoist_error_errno(err, "read link '%s'", s->path);
                target[t] = '\0';
                key_field(d, "link", target);
        }
        return 0;
}

int cache_hash_sources(const char *root, const struct cache_source *srcs, size_t n,
                       char ret_hex[65], struct hoist_error **err)
{
        _cleanup_free_ struct cache_source *sorted = xcalloc(n + 1, sizeof *sorted);
        _cleanup_digest_ struct digest_ctx *d = digest_new();

        if (n > 0)
                memcpy(sorted, srcs, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_source);
        key_field(d, "v", "hoist-build-sources/1");
        for (size_t i = 0; i < n; i++)
                if (hash_one(d, root, &sorted[i], err) < 0)
                        return -1;
        digest_final_hex(TAKE_PTR(d), ret_hex);
        return 0;
}

/* ---- the store ---- */

void cache_entry_clear(struct cache_entry *e)
{
        image_layer_clear(&e->layer);
        free(e->state);
        memset(e, 0, sizeof *e);
}

int build_cache_open(const char *dir, struct build_cache **ret, struct hoist_error **err)
{
        struct build_cache *c;

        if (fs_mkdir_p(dir, 0700, err) < 0)
                return hoist_error_wrap(err, "build cache '%s'", dir);
        c = xzalloc(sizeof *c);
        c->dir = xstrdup(dir);
        *ret = c;
        return 0;
}

void build_cache_close(struct build_cache *c)
{
        if (c == NULL)
                return;
        free(c->dir);
        free(c);
}

static char *entry_path(const struct build_cache *c, const char *key)
{
        _cleanup_free_ char *name = xasprintf("%s.json", key);

        return path_join(c->dir, name);
}

int build_cache_get(struct build_cache *c, const char *key, struct cache_entry *ret,
                    struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;
        json_error_t jerr;
        json_auto_t *doc = NULL;
        json_t *layer, *state;

        (void)err;
        if (!digest_hex_valid(key))
                return 0;
        path = entry_path(c, key);
        doc = json_load_file(path, 0, &jerr);
        if (doc == NULL)
                return 0;
        layer = json_object_get(doc, "layer");
        state = json_object_get(doc, "state");
        if (!json_is_string(state)) {
                log_debug("build cache entry '%s' has no state, ignoring", path);
                return 0;
        }
        memset(ret, 0, sizeof *ret);
        if (json_is_object(layer)) {
                const char *mt = json_string_value(json_object_get(layer, "mediaType"));
                const char *dg = json_string_value(json_object_get(layer, "digest"));
                const char *di = json_string_value(json_object_get(layer, "diffID"));
                json_t *size = json_object_get(layer, "size");
                if (mt == NULL || dg == NULL || di == NULL || !json_is_integer(size)) {
                        log_debug("build cache entry '%s' has a bad layer, ignoring", path);
                        return 0;
                }
                ret->has_layer = 1;
                ret->layer.media_type = xstrdup(mt);
                ret->layer.digest = xstrdup(dg);
                ret->layer.diff_id = xstrdup(di);
                ret->layer.size = json_integer_value(size);
        }
        ret->state = xstrdup(json_string_value(state));
        return 1;
}

int build_cache_put(struct build_cache *c, const char *key, const struct cache_entry *e,
                    struct hoist_error **err)
{
        _cleanup_free_ char *path = entry_path(c, key);
        _cleanup_free_ char *text = NULL;
        json_auto_t *doc = json_pack("{s:s}", "state", e->state ? e->state : "{}");

        if (e->has_layer)
                json_object_set_new(doc, "layer",
                                    json_pack("{s:s, s:s, s:s, s:I}", "mediaType",
                                              e->layer.media_type, "digest", e->layer.digest,
                                              "diffID", e->layer.diff_id, "size",
                                              (json_int_t)e->layer.size));
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (text == NULL)
                abort();
        if (fs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return hoist_error_wrap(err, "build cache");
        return 0;
}

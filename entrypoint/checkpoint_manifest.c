/* SPDX-License-Identifier: MIT */
#include "checkpoint_manifest.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "xalloc.h"

#define MAX_MANIFEST_BYTES (64u << 20)
#define MAX_FILES 1000000

void checkpoint_manifest_free(struct checkpoint_manifest *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n_files; i++) {
                free(m->files[i].path);
                free(m->files[i].key);
                free(m->files[i].sha256);
        }
        free(m->files);
        free(m->job_id);
        free(m->node);
        free(m);
}

char *checkpoint_manifest_key(const char *prefix, int64_t seq)
{
        return xasprintf("%s/" CHECKPOINT_META_DIR "/manifest-%010" PRId64 ".json", prefix, seq);
}

int64_t checkpoint_manifest_key_seq(const char *prefix, const char *key)
{
        static const char middle[] = "/" CHECKPOINT_META_DIR "/manifest-";
        size_t n = strlen(prefix);
        const char *p;
        int64_t seq = 0;

        if (strncmp(key, prefix, n) != 0 || strncmp(key + n, middle, sizeof middle - 1) != 0)
                return -1;
        p = key + n + sizeof middle - 1;
        if (strspn(p, "0123456789") != 10 || strcmp(p + 10, ".json") != 0)
                return -1;
        for (int i = 0; i < 10; i++)
                seq = seq * 10 + (p[i] - '0');
        return seq > 0 ? seq : -1;
}

/* A relative '/'-separated name with no empty, "." or ".." segment and no
 * control character: what storage_key_check() accepts. */
static int rel_valid(const char *s)
{
        return s != NULL && strlen(s) < PATH_MAX && storage_key_check(s, NULL) == 0;
}

/* hoist's own names at the top of the dir and the prefix: ".hoist",
 * ".hoist-restore", anything starting with ".hoist". */
static int path_reserved(const char *path)
{
        return strncmp(path, CHECKPOINT_META_DIR, strlen(CHECKPOINT_META_DIR)) == 0;
}

static int key_valid(const char *key)
{
        if (!rel_valid(key))
                return 0;
        if (!path_reserved(key))
                return 1;
        return strncmp(key, CHECKPOINT_OBJECTS_DIR, strlen(CHECKPOINT_OBJECTS_DIR)) == 0 &&
               digest_hex_valid(key + strlen(CHECKPOINT_OBJECTS_DIR));
}

int checkpoint_file_cmp(const void *a, const void *b)
{
        return strcmp(((const struct checkpoint_file *)a)->path,
                      ((const struct checkpoint_file *)b)->path);
}

static int find_path(const struct checkpoint_file *files, size_t n, const char *path, size_t len)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strncmp(files[mid].path, path, len);
                if (c == 0 && files[mid].path[len] != '\0')
                        c = 1;
                if (c == 0)
                        return 1;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

/* Sorted, unique, and no path is a directory of another. */
static int check_paths(struct checkpoint_manifest *m, const char *name, struct hoist_error **err)
{
        qsort(m->files, m->n_files, sizeof *m->files, checkpoint_file_cmp);
        for (size_t i = 0; i < m->n_files; i++) {
                const char *p = m->files[i].path;
                if (i > 0 && strcmp(p, m->files[i - 1].path) == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "checkpoint manifest '%s': file '%s' is listed "
                                                "twice",
                                                name, p);
                for (const char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/'))
                        if (find_path(m->files, m->n_files, p, (size_t)(s - p)))
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "checkpoint manifest '%s': '%.*s' is "
                                                        "both a file and a directory",
                                                        name, (int)(s - p), p);
        }
        return 0;
}

static int get_int(json_t *o, const char *field, int64_t min, int64_t *ret)
{
        json_t *v = json_object_get(o, field);

        if (!json_is_integer(v) || json_integer_value(v) < min)
                return -1;
        *ret = json_integer_value(v);
        return 0;
}

static char *get_str(json_t *o, const char *field)
{
        json_t *v = json_object_get(o, field);

        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int parse_file(json_t *v, size_t i, struct checkpoint_file *f, const char *name,
                      struct hoist_error **err)
{
        int64_t size = 0;

        if (!json_is_object(v))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files[%zu] is not an object",
                                        name, i);
        f->path = get_str(v, "path");
        f->key = get_str(v, "key");
        f->sha256 = get_str(v, "sha256");
        if (!rel_valid(f->path) || path_reserved(f->path))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files[%zu].path is missing or "
                                        "not a plain relative path",
                                        name, i);
        if (!key_valid(f->key))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files[%zu].key is missing or "
                                        "invalid",
                                        name, i);
        if (f->sha256 == NULL || !digest_hex_valid(f->sha256))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files[%zu].sha256 is not 64 "
                                        "lowercase hex digits",
                                        name, i);
        if (get_int(v, "size", 0, &size) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files[%zu].size is not a "
                                        "non-negative integer",
                                        name, i);
        f->size = (uint64_t)size;
        return 0;
}

int checkpoint_manifest_parse(const char *json, size_t len, const char *name,
                              struct checkpoint_manifest **ret, struct hoist_error **err)
{
        _cleanup_checkpoint_manifest_ struct checkpoint_manifest *m = xzalloc(sizeof *m);
        json_error_t jerr;
        json_auto_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *files, *v;
        int64_t version = 0;
        size_t i;

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': line %d, column %d: %s", name,
                                        jerr.line, jerr.column, jerr.text);
        if (!json_is_object(root))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': not a JSON object", name);
        if (get_int(root, "version", 1, &version) < 0 || version != CHECKPOINT_MANIFEST_VERSION)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': version is not %d", name,
                                        CHECKPOINT_MANIFEST_VERSION);
        if (get_int(root, "seq", 1, &m->seq) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': seq is not a positive integer",
                                        name);
        (void)get_int(root, "step", 0, &m->step);
        (void)get_int(root, "attempt", 0, &m->attempt);
        (void)get_int(root, "created_at_ms", 0, &m->created_at_ms);
        m->job_id = get_str(root, "job_id");
        m->node = get_str(root, "node");
        files = json_object_get(root, "files");
        if (!json_is_array(files) || json_array_size(files) > MAX_FILES)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "checkpoint manifest '%s': files is not an array of at "
                                        "most %d entries",
                                        name, MAX_FILES);
        m->files = xcalloc(json_array_size(files) + 1, sizeof *m->files);
        json_array_foreach(files, i, v)
        {
                m->n_files = i + 1;
                if (parse_file(v, i, &m->files[i], name, err) < 0)
                        return -1;
        }
        if (check_paths(m, name, err) < 0)
                return -1;
        *ret = TAKE_PTR(m);
        return 0;
}

char *checkpoint_manifest_to_json(const struct checkpoint_manifest *m)
{
        json_auto_t *root = json_object();
        json_t *files = json_array();

        (void)json_object_set_new(root, "version", json_integer(CHECKPOINT_MANIFEST_VERSION));
        (void)json_object_set_new(root, "seq", json_integer(m->seq));
        if (m->job_id != NULL)
                (void)json_object_set_new(root, "job_id", json_string(m->job_id));
        if (m->node != NULL)
                (void)json_object_set_new(root, "node", json_string(m->node));
        (void)json_object_set_new(root, "attempt", json_integer(m->attempt));
        (void)json_object_set_new(root, "created_at_ms", json_integer(m->created_at_ms));
        (void)json_object_set_new(root, "step", json_integer(m->step));
        for (size_t i = 0; i < m->n_files; i++) {
                const struct checkpoint_file *f = &m->files[i];
                json_t *o = json_object();
                (void)json_object_set_new(o, "path", json_string(f->path));
                (void)json_object_set_new(o, "size", json_integer((json_int_t)f->size));
                (void)json_object_set_new(o, "sha256", json_string(f->sha256));
                (void)json_object_set_new(o, "key", json_string(f->key));
                (void)json_array_append_new(files, o);
        }
        (void)json_object_set_new(root, "files", files);
        return json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

/* The decimal number TEXT holds (surrounding whitespace allowed), or -1. */
static int64_t parse_step(const char *text)
{
        int64_t n = 0;
        const char *p = text;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (n > (INT64_MAX - 9) / 10)
                        return -1;
                n = n * 10 + (*p - '0');
        }
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        return *p == '\0' ? n : -1;
}

int64_t checkpoint_step(const struct checkpoint_file *files, size_t n, const char *step_content)
{
        int64_t best = 0;

        if (step_content != NULL && parse_step(step_content) >= 0)
                return parse_step(step_content);
        for (size_t i = 0; i < n; i++) {
                const char *base = strrchr(files[i].path, '/');
                base = base ? base + 1 : files[i].path;
                for (const char *p = base; *p;) {
                        size_t digits = strspn(p, "0123456789");
                        if (digits == 0) {
                                p++;
                                continue;
                        }
                        if (digits <= 18) {
                                int64_t v = 0;
                                for (size_t k = 0; k < digits; k++)
                                        v = v * 10 + (p[k] - '0');
                                if (v > best)
                                        best = v;
                        }
                        p += digits;
                }
        }
        return best;
}

static int cmp_seq_desc(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? 1 : x > y ? -1 : 0;
}

/* Every manifest seq under PREFIX, newest first. */
int checkpoint_manifest_list(struct storage *st, const char *prefix, int64_t **ret, size_t *ret_n,
                             struct hoist_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/" CHECKPOINT_META_DIR "/", prefix);
        _cleanup_strv_ char **keys = NULL;
        int64_t *seqs;
        size_t n = 0, cap = 0;

        if (storage_list(st, dir, &keys, err) < 0)
                return hoist_error_wrap(err, "list checkpoint manifests under '%s'", dir);
        for (char **k = keys; *k != NULL; k++)
                cap++;
        seqs = xcalloc(cap + 1, sizeof *seqs);
        for (char **k = keys; *k != NULL; k++) {
                int64_t s = checkpoint_manifest_key_seq(prefix, *k);
                if (s > 0)
                        seqs[n++] = s;
        }
        qsort(seqs, n, sizeof *seqs, cmp_seq_desc);
        *ret = seqs;
        *ret_n = n;
        return 0;
}

int checkpoint_manifest_load(struct storage *st, const char *prefix, int64_t seq,
                             struct checkpoint_manifest **ret, struct hoist_error **err)
{
        _cleanup_free_ char *key = checkpoint_manifest_key(prefix, seq);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (storage_get_bytes(st, key, &text, &len, err) < 0)
                return -1;
        if (len > MAX_MANIFEST_BYTES)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is larger than %u bytes", key,
                                        MAX_MANIFEST_BYTES);
        if (checkpoint_manifest_parse(text, len, key, ret, err) < 0)
                return -1;
        if ((*ret)->seq != seq) {
                checkpoint_manifest_free(*ret);
                *ret = NULL;
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' says it is manifest %" PRId64,
                                        key, seq);
        }
        return 0;
}

/* 1 when every file of M exists with its size, 0 (with *why) when not. */
static int manifest_complete(struct storage *st, const char *prefix,
                             const struct checkpoint_manifest *m, char **why,
                             struct hoist_error **err)
{
        for (size_t i = 0; i < m->n_files; i++) {
                _cleanup_free_ char *key = xasprintf("%s/%s", prefix, m->files[i].key);
                uint64_t size = 0;
                int r = storage_exists(st, key, &size, err);
                if (r < 0)
                        return -1;
                if (r == 0) {
                        *why = xasprintf("'%s' is missing", key);
                        return 0;
                }
                if (size != m->files[i].size) {
                        *why = xasprintf("'%s' has %" PRIu64 " bytes, not %" PRIu64, key, size,
                                         m->files[i].size);
                        return 0;
                }
        }
        return 1;
}

int checkpoint_find_latest(struct storage *st, const char *prefix, int64_t skip_above,
                           struct checkpoint_manifest **ret, struct hoist_error **err)
{
        _cleanup_free_ int64_t *seqs = NULL;
        size_t n = 0;

        *ret = NULL;
        if (checkpoint_manifest_list(st, prefix, &seqs, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                struct checkpoint_manifest *m = NULL;
                _cleanup_free_ char *why = NULL;
                struct hoist_error *e = NULL;
                int r;

                if (skip_above > 0 && seqs[i] > skip_above)
                        continue;
                if (checkpoint_manifest_load(st, prefix, seqs[i], &m, &e) < 0) {
                        log_info("checkpoints: set %" PRId64 " is unreadable (%s), ignoring it",
                                 seqs[i], e->msg);
                        hoist_error_free(e);
                        continue;
                }
                r = manifest_complete(st, prefix, m, &why, err);
                if (r < 0) {
                        checkpoint_manifest_free(m);
                        return -1;
                }
                if (r == 1) {
                        *ret = m;
                        return 0;
                }
                log_info("checkpoints: set %" PRId64 " is incomplete (%s), ignoring it", seqs[i],
                         why);
                checkpoint_manifest_free(m);
        }
        return 0;
}

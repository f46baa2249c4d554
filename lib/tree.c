/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

/* Arrays grow in powers of two from 8; the count alone says when. */
static void *grow(void *arr, size_t n, size_t elem)
{
        if (n == 0)
                return xcalloc(8, elem);
        if (n >= 8 && (n & (n - 1)) == 0) {
                arr = xreallocarray(arr, n * 2, elem);
                memset((char *)arr + n * elem, 0, n * elem);
        }
        return arr;
}

struct tree_manifest *tree_manifest_new(void)
{
        return xcalloc(1, sizeof(struct tree_manifest));
}

void tree_manifest_free(struct tree_manifest *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n_entries; i++) {
                free(m->entries[i].path);
                free(m->entries[i].target);
        }
        for (size_t i = 0; i < m->n_packs; i++)
                free(m->packs[i].files);
        free(m->entries);
        free(m->packs);
        free(m);
}

static struct tree_entry *add_entry(struct tree_manifest *m, const char *path,
                                    enum tree_entry_type type)
{
        struct tree_entry *e;

        m->entries = grow(m->entries, m->n_entries, sizeof *m->entries);
        e = &m->entries[m->n_entries++];
        memset(e, 0, sizeof *e);
        e->path = xstrdup(path);
        e->type = type;
        return e;
}

struct tree_entry *tree_manifest_add_file(struct tree_manifest *m, const char *path, uint32_t mode,
                                          uint64_t size, const char *sha256)
{
        struct tree_entry *e = add_entry(m, path, TREE_ENTRY_FILE);

        e->mode = mode;
        e->size = size;
        snprintf(e->sha256, sizeof e->sha256, "%s", sha256);
        return e;
}

struct tree_entry *tree_manifest_add_dir(struct tree_manifest *m, const char *path, uint32_t mode)
{
        struct tree_entry *e = add_entry(m, path, TREE_ENTRY_DIR);

        e->mode = mode;
        return e;
}

struct tree_entry *tree_manifest_add_symlink(struct tree_manifest *m, const char *path,
                                             const char *target)
{
        struct tree_entry *e = add_entry(m, path, TREE_ENTRY_SYMLINK);

        e->target = xstrdup(target);
        return e;
}

struct tree_pack *tree_manifest_add_pack(struct tree_manifest *m)
{
        struct tree_pack *p;

        m->packs = grow(m->packs, m->n_packs, sizeof *m->packs);
        p = &m->packs[m->n_packs++];
        memset(p, 0, sizeof *p);
        return p;
}

void tree_pack_add_file(struct tree_pack *p, const char *sha256, uint64_t offset, uint64_t size)
{
        struct tree_pack_file *f;

        p->files = grow(p->files, p->n_files, sizeof *p->files);
        f = &p->files[p->n_files++];
        snprintf(f->sha256, sizeof f->sha256, "%s", sha256);
        f->offset = offset;
        f->size = size;
}

void tree_manifest_locate(const struct tree_manifest *m, const char *sha256,
                          const struct tree_pack **ret_pack, uint64_t *ret_offset)
{
        for (size_t i = 0; i < m->n_packs; i++)
                for (size_t j = 0; j < m->packs[i].n_files; j++)
                        if (strcmp(m->packs[i].files[j].sha256, sha256) == 0) {
                                *ret_pack = &m->packs[i];
                                *ret_offset = m->packs[i].files[j].offset;
                                return;
                        }
        *ret_pack = NULL;
        *ret_offset = 0;
}

uint64_t tree_manifest_total_size(const struct tree_manifest *m)
{
        uint64_t total = 0;

        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].type == TREE_ENTRY_FILE)
                        total += m->entries[i].size;
        return total;
}

size_t tree_manifest_count(const struct tree_manifest *m, enum tree_entry_type type)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_entries; i++)
                n += m->entries[i].type == type;
        return n;
}

char *tree_blob_key(const char *sha256)
{
        return xasprintf(TREE_BLOB_PREFIX "%s", sha256);
}

int tree_path_valid(const char *path)
{
        const char *seg = path;
        size_t len;

        if (path == NULL || path[0] == '\0' || path[0] == '/')
                return 0;
        len = strlen(path);
        if (len > TREE_MAX_PATH)
                return 0;
        for (const char *p = path;; p++) {
                if (*p != '\0' && (unsigned char)*p < 0x20)
                        return 0;
                if (*p == 0x7f)
                        return 0;
                if (*p == '/' || *p == '\0') {
                        size_t n = (size_t)(p - seg);
                        if (n == 0 || n > 255 || (n == 1 && seg[0] == '.') ||
                            (n == 2 && seg[0] == '.' && seg[1] == '.'))
                                return 0;
                        if (*p == '\0')
                                break;
                        seg = p + 1;
                }
        }
        return 1;
}

#define TREE_MAX_LINK_HOPS 40

/* Resolves TARGET, the target of the symlink at PATH, from PATH's directory
 * part by part as the kernel would, with the manifest's symlinks (LINK_OF:
 * the target of the symlink at a path, or NULL) followed where they lie on
 * the way; 0 when a ".." would climb out of the root or the links loop.
 * Without LINK_OF the walk is lexical. */
static int target_walk(const char *path, const char *target,
                       const char *(*link_of)(void *ud, const char *p, size_t n), void *ud)
{
        _cleanup_strv_ char **queue = NULL; /* parts still to walk, last first */
        _cleanup_free_ char *norm = NULL;   /* the directory reached so far */
        _cleanup_free_ size_t *starts = NULL;
        size_t n_queue = 0, cap_queue = 0, depth = 0, len = 0, cap;
        const char *slash = strrchr(path, '/');
        int hops = 0;

        if (target == NULL || target[0] == '\0' || target[0] == '/' ||
            strlen(target) > TREE_MAX_PATH)
                return 0;
        for (const char *p = target; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return 0;
        cap = strlen(path) + 2;
        norm = xcalloc(cap, 1);
        starts = xcalloc(cap, sizeof *starts);
        if (slash != NULL) { /* the link's directory: plain directories */
                memcpy(norm, path, (size_t)(slash - path));
                len = (size_t)(slash - path);
                depth = 1;
                for (size_t i = 0; i < len; i++)
                        if (norm[i] == '/')
                                starts[depth++] = i + 1;
        }
        /* queue TARGET's parts, last first, so the next part is at the end */
        for (const char *end = target + strlen(target);;) {
                const char *start = end;
                while (start > target && start[-1] != '/')
                        start--;
                if (n_queue + 2 > cap_queue) {
                        cap_queue = cap_queue ? cap_queue * 2 : 16;
                        queue = xreallocarray(queue, cap_queue, sizeof *queue);
                }
                queue[n_queue++] = xstrndup(start, (size_t)(end - start));
                queue[n_queue] = NULL;
                if (start == target)
                        break;
                end = start - 1;
        }
        while (n_queue > 0) {
                _cleanup_free_ char *seg = queue[--n_queue];
                size_t n = strlen(seg);
                const char *next;
                queue[n_queue] = NULL;
                if (n == 0 || strcmp(seg, ".") == 0)
                        continue;
                if (strcmp(seg, "..") == 0) {
                        if (depth == 0)
                                return 0;
                        len = starts[--depth];
                        len = len > 0 ? len - 1 : 0;
                        norm[len] = '\0';
                        continue;
                }
                if (len + n + 2 > cap) {
                        cap = (len + n + 2) * 2;
                        norm = xrealloc(norm, cap);
                        starts = xreallocarray(starts, cap, sizeof *starts);
                }
                if (len > 0)
                        norm[len++] = '/';
                starts[depth++] = len;
                memcpy(norm + len, seg, n);
                len += n;
                norm[len] = '\0';
                if (n_queue == 0 || link_of == NULL || (next = link_of(ud, norm, len)) == NULL)
                        continue;
                /* a link on the way: walk its target from its directory */
                if (++hops > TREE_MAX_LINK_HOPS || next[0] == '/')
                        return 0;
                len = starts[--depth];
                len = len > 0 ? len - 1 : 0;
                norm[len] = '\0';
                for (const char *end = next + strlen(next);;) {
                        const char *start = end;
                        while (start > next && start[-1] != '/')
                                start--;
                        if (n_queue + 2 > cap_queue) {
                                cap_queue = cap_queue ? cap_queue * 2 : 16;
                                queue = xreallocarray(queue, cap_queue, sizeof *queue);
                        }
                        queue[n_queue++] = xstrndup(start, (size_t)(end - start));
                        queue[n_queue] = NULL;
                        if (start == next)
                                break;
                        end = start - 1;
                }
        }
        return 1;
}

int tree_symlink_target_valid(const char *path, const char *target)
{
        return tree_path_valid(path) && target_walk(path, target, NULL, NULL);
}

/* ---- parsing ---- */

struct parse {
        struct tree_manifest *m;
        struct hoist_error **err;
};

static int fail(struct hoist_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int fail(struct hoist_error **err, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_INPUT, "tree manifest: %s", msg);
}

static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *ret)
{
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > max)
                return -1;
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static int get_hex(json_t *v, char out[DIGEST_HEX_LEN + 1])
{
        if (!json_is_string(v) || !digest_hex_valid(json_string_value(v)))
                return -1;
        memcpy(out, json_string_value(v), DIGEST_HEX_LEN + 1);
        return 0;
}

static int no_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20)
                        return 0;
        return 1;
}

static int read_entry(struct tree_manifest *m, json_t *o, size_t i, struct hoist_error **err)
{
        const char *path = json_string_value(json_object_get(o, "path"));
        const char *type = json_string_value(json_object_get(o, "type"));
        struct tree_entry *e;
        uint64_t mode = 0;

        if (!json_is_object(o))
                return fail(err, "entries[%zu]: expected an object", i);
        if (path == NULL || !tree_path_valid(path))
                return fail(err,
                            "entries[%zu].path: '%.200s' is not a relative path inside the tree "
                            "(no empty, '.' or '..' part, no leading '/')",
                            i, path ? path : "");
        if (type == NULL)
                return fail(err, "entries[%zu] ('%.200s'): type missing", i, path);
        if (strcmp(type, "file") == 0) {
                uint64_t size;
                char hex[DIGEST_HEX_LEN + 1];
                if (get_u64(o, "mode", 0777, &mode) < 0)
                        return fail(err, "'%.200s': mode must be an integer within 0-0777", path);
                if (get_u64(o, "size", INT64_MAX, &size) < 0)
                        return fail(err, "'%.200s': size must be a non-negative integer", path);
                if (get_hex(json_object_get(o, "sha256"), hex) < 0)
                        return fail(err, "'%.200s': sha256 must be 64 lowercase hex digits", path);
                tree_manifest_add_file(m, path, (uint32_t)mode, size, hex);
        } else if (strcmp(type, "dir") == 0) {
                if (get_u64(o, "mode", 0777, &mode) < 0)
                        return fail(err, "'%.200s': mode must be an integer within 0-0777", path);
                tree_manifest_add_dir(m, path, (uint32_t)mode);
        } else if (strcmp(type, "symlink") == 0) {
                const char *target = json_string_value(json_object_get(o, "target"));
                /* where it leads is checked once every entry is known */
                if (target == NULL || target[0] == '\0' || target[0] == '/' ||
                    strlen(target) > TREE_MAX_PATH || strpbrk(target, "\x7f") != NULL ||
                    !no_control(target))
                        return fail(err,
                                    "symlink '%.200s': target '%.200s' is not a relative path "
                                    "that stays inside the tree",
                                    path, target ? target : "");
                e = tree_manifest_add_symlink(m, path, target);
                (void)e;
        } else
                return fail(err,
                            "'%.200s': type '%.32s' is not one of \"file\", \"dir\", "
                            "\"symlink\"",
                            path, type);
        return 0;
}

static const struct tree_entry *find_entry(const struct tree_manifest *m, const char *path,
                                           size_t n)
{
        size_t lo = 0, hi = m->n_entries;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const char *p = m->entries[mid].path;
                int c = strncmp(p, path, n);
                if (c == 0 && p[n] != '\0')
                        c = 1;
                if (c == 0)
                        return &m->entries[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static const char *link_of(void *ud, const char *p, size_t n)
{
        const struct tree_entry *e = find_entry(ud, p, n);
        return e != NULL && e->type == TREE_ENTRY_SYMLINK ? e->target : NULL;
}

/* Sorted and unique; nothing below a file or a symlink; no target that
 * steps back out of another link. */
static int check_entries(const struct tree_manifest *m, struct hoist_error **err)
{
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct tree_entry *e = &m->entries[i];
                if (i > 0 && strcmp(m->entries[i - 1].path, e->path) >= 0)
                        return fail(err,
                                    "entries are not sorted by path or '%.200s' is listed twice",
                                    e->path);
                for (const char *s = strchr(e->path, '/'); s != NULL; s = strchr(s + 1, '/')) {
                        const struct tree_entry *up = find_entry(m, e->path, (size_t)(s - e->path));
                        if (up != NULL && up->type != TREE_ENTRY_DIR)
                                return fail(err, "'%.200s' lies below '%.*s', which is a %s",
                                            e->path, (int)(s - e->path), e->path,
                                            up->type == TREE_ENTRY_FILE ? "file" : "symlink");
                }
                if (e->type == TREE_ENTRY_SYMLINK &&
                    !target_walk(e->path, e->target, link_of, (void *)m))
                        return fail(err,
                                    "symlink '%.200s': target '%.200s' is not a relative path "
                                    "that stays inside the tree (followed through the tree's "
                                    "own links)",
                                    e->path, e->target);
        }
        return 0;
}

static int cmp_pack_file_offset(const void *a, const void *b)
{
        const struct tree_pack_file *x = a, *y = b;
        if (x->offset != y->offset)
                return x->offset < y->offset ? -1 : 1;
        return x->size < y->size ? -1 : x->size > y->size;
}

static int read_pack(struct tree_manifest *m, json_t *o, size_t i, struct hoist_error **err)
{
        struct tree_pack *p;
        json_t *files = json_object_get(o, "files"), *f;
        size_t j;

        if (!json_is_object(o))
                return fail(err, "packs[%zu]: expected an object", i);
        p = tree_manifest_add_pack(m);
        if (get_hex(json_object_get(o, "sha256"), p->sha256) < 0)
                return fail(err, "packs[%zu].sha256: expected 64 lowercase hex digits", i);
        if (get_u64(o, "size", INT64_MAX, &p->size) < 0)
                return fail(err, "pack %s: size must be a non-negative integer", p->sha256);
        if (!json_is_array(files))
                return fail(err, "pack %s: files must be an array of [sha256, offset, size]",
                            p->sha256);
        if (json_array_size(files) > TREE_MAX_ENTRIES)
                return fail(err, "pack %s: more than %d files", p->sha256, TREE_MAX_ENTRIES);
        json_array_foreach(files, j, f)
        {
                char hex[DIGEST_HEX_LEN + 1];
                json_t *off = json_array_get(f, 1), *sz = json_array_get(f, 2);
                if (!json_is_array(f) || json_array_size(f) != 3 ||
                    get_hex(json_array_get(f, 0), hex) < 0 || !json_is_integer(off) ||
                    !json_is_integer(sz) || json_integer_value(off) < 0 ||
                    json_integer_value(sz) < 0)
                        return fail(err,
                                    "pack %s: files[%zu] is not [sha256, offset, size] with 64 "
                                    "hex digits and non-negative integers",
                                    p->sha256, j);
                tree_pack_add_file(p, hex, (uint64_t)json_integer_value(off),
                                   (uint64_t)json_integer_value(sz));
        }
        return 0;
}

/* Each index entry inside its pack, none overlapping another. */
static int check_pack(const struct tree_pack *p, struct hoist_error **err)
{
        _cleanup_free_ struct tree_pack_file *sorted = NULL;
        uint64_t end = 0;

        if (p->n_files == 0)
                return 0;
        sorted = xcalloc(p->n_files, sizeof *sorted);
        memcpy(sorted, p->files, p->n_files * sizeof *sorted);
        qsort(sorted, p->n_files, sizeof *sorted, cmp_pack_file_offset);
        for (size_t j = 0; j < p->n_files; j++) {
                const struct tree_pack_file *f = &sorted[j];
                if (f->offset > p->size || f->size > p->size - f->offset)
                        return fail(err,
                                    "pack %s: file %s at offset %" PRIu64 " size %" PRIu64
                                    " runs past the pack's %" PRIu64 " bytes (corrupt pack index)",
                                    p->sha256, f->sha256, f->offset, f->size, p->size);
                if (f->size > 0 && f->offset < end)
                        return fail(err,
                                    "pack %s: file %s at offset %" PRIu64
                                    " overlaps the file before it (corrupt pack index)",
                                    p->sha256, f->sha256, f->offset);
                if (f->offset + f->size > end)
                        end = f->offset + f->size;
        }
        return 0;
}

struct sized {
        const char *sha256;
        uint64_t size;
};

static int cmp_sized(const void *a, const void *b)
{
        return strcmp(((const struct sized *)a)->sha256, ((const struct sized *)b)->sha256);
}

/* Every packed file's size matches every entry with its digest. */
static int check_sizes(const struct tree_manifest *m, struct hoist_error **err)
{
        _cleanup_free_ struct sized *files = NULL;
        size_t n = 0;

        if (m->n_packs == 0)
                return 0;
        files = xcalloc(m->n_entries ? m->n_entries : 1, sizeof *files);
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].type == TREE_ENTRY_FILE)
                        files[n++] = (struct sized){m->entries[i].sha256, m->entries[i].size};
        qsort(files, n, sizeof *files, cmp_sized);
        for (size_t i = 0; i < m->n_packs; i++)
                for (size_t j = 0; j < m->packs[i].n_files; j++) {
                        const struct tree_pack_file *f = &m->packs[i].files[j];
                        struct sized key = {f->sha256, 0}, *hit;
                        hit = bsearch(&key, files, n, sizeof *files, cmp_sized);
                        if (hit == NULL)
                                continue; /* a pack may hold files other trees use */
                        /* bsearch finds one of the equal digests; all of them
                         * must agree, and they do once one does, because
                         * entries with one digest and two sizes are refused
                         * below */
                        if (hit->size != f->size)
                                return fail(err,
                                            "pack %s: file %s is %" PRIu64
                                            " bytes in the index but %" PRIu64
                                            " bytes in the tree's entries",
                                            m->packs[i].sha256, f->sha256, f->size, hit->size);
                }
        for (size_t i = 1; i < n; i++)
                if (strcmp(files[i - 1].sha256, files[i].sha256) == 0 &&
                    files[i - 1].size != files[i].size)
                        return fail(err, "file %s is listed with two sizes", files[i].sha256);
        return 0;
}

int tree_manifest_parse(const char *bytes, size_t len, struct tree_manifest **ret,
                        struct hoist_error **err)
{
        _cleanup_tree_manifest_ struct tree_manifest *m = tree_manifest_new();
        json_auto_t *root = NULL;
        json_error_t jerr;
        json_t *entries, *packs, *v;
        const char *format;
        size_t i;

        root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
                return fail(err, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        if (!json_is_object(root))
                return fail(err, "expected a JSON object");
        format = json_string_value(json_object_get(root, "format"));
        if (format == NULL || strcmp(format, TREE_FORMAT) != 0)
                return fail(err, "format: '%.64s' is not supported (expected \"" TREE_FORMAT "\")",
                            format ? format : "");
        entries = json_object_get(root, "entries");
        packs = json_object_get(root, "packs");
        if (!json_is_array(entries))
                return fail(err, "entries: expected an array");
        if (packs != NULL && !json_is_array(packs))
                return fail(err, "packs: expected an array");
        if (json_array_size(entries) > TREE_MAX_ENTRIES)
                return fail(err, "more than %d entries", TREE_MAX_ENTRIES);
        json_array_foreach(entries, i, v) if (read_entry(m, v, i, err) < 0) return -1;
        json_array_foreach(packs, i, v) if (read_pack(m, v, i, err) < 0) return -1;
        if (check_entries(m, err) < 0)
                return -1;
        for (i = 0; i < m->n_packs; i++)
                if (check_pack(&m->packs[i], err) < 0)
                        return -1;
        if (check_sizes(m, err) < 0)
                return -1;
        *ret = TAKE_PTR(m);
        return 0;
}

/* ---- writing ---- */

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct tree_entry *)a)->path, ((const struct tree_entry *)b)->path);
}

static json_t *entry_json(const struct tree_entry *e)
{
        json_t *o = json_object();

        (void)json_object_set_new(o, "path", json_string(e->path));
        switch (e->type) {
        case TREE_ENTRY_FILE:
                (void)json_object_set_new(o, "type", json_string("file"));
                (void)json_object_set_new(o, "mode", json_integer(e->mode));
                (void)json_object_set_new(o, "size", json_integer((json_int_t)e->size));
                (void)json_object_set_new(o, "sha256", json_string(e->sha256));
                break;
        case TREE_ENTRY_DIR:
                (void)json_object_set_new(o, "type", json_string("dir"));
                (void)json_object_set_new(o, "mode", json_integer(e->mode));
                break;
        case TREE_ENTRY_SYMLINK:
                (void)json_object_set_new(o, "type", json_string("symlink"));
                (void)json_object_set_new(o, "target", json_string(e->target));
                break;
        }
        return o;
}

char *tree_manifest_serialize(struct tree_manifest *m, size_t *ret_len)
{
        json_auto_t *root = json_object();
        json_t *entries = json_array(), *packs = json_array();
        char *out;

        if (m->n_entries > 1)
                qsort(m->entries, m->n_entries, sizeof *m->entries, cmp_entry);
        for (size_t i = 0; i < m->n_entries; i++)
                (void)json_array_append_new(entries, entry_json(&m->entries[i]));
        for (size_t i = 0; i < m->n_packs; i++) {
                const struct tree_pack *p = &m->packs[i];
                json_t *o = json_object(), *files = json_array();
                for (size_t j = 0; j < p->n_files; j++)
                        (void)json_array_append_new(files, json_pack("[sII]", p->files[j].sha256,
                                                                     (json_int_t)p->files[j].offset,
                                                                     (json_int_t)p->files[j].size));
                (void)json_object_set_new(o, "sha256", json_string(p->sha256));
                (void)json_object_set_new(o, "size", json_integer((json_int_t)p->size));
                (void)json_object_set_new(o, "files", files);
                (void)json_array_append_new(packs, o);
        }
        (void)json_object_set_new(root, "format", json_string(TREE_FORMAT));
        (void)json_object_set_new(root, "entries", entries);
        (void)json_object_set_new(root, "packs", packs);
        out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (out == NULL)
                abort(); /* only on out of memory */
        if (ret_len != NULL)
                *ret_len = strlen(out);
        return out;
}

/* SPDX-License-Identifier: MIT */
/*
 * The Hub's answers (preupload, LFS batch, commit, errors), the commit's
 * NDJSON body and the file list of a directory: pure functions, unit-tested
 * and fuzzed (tests/fuzz/fuzz_hfhub.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "hfhub.h"
#include "log.h"
#include "webhook.h"
#include "xalloc.h"

#define SAMPLE_LEN 512
#define MAX_NAME 96

static bool name_valid(const char *s, size_t len)
{
        if (len == 0 || len > MAX_NAME || s[0] == '-' || s[0] == '.' || s[len - 1] == '-' ||
            s[len - 1] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
                if (i > 0 && (c == '-' || c == '.') && s[i - 1] == c)
                        return false;
        }
        return true;
}

bool hfhub_repo_valid(const char *repo)
{
        const char *slash = repo != NULL ? strchr(repo, '/') : NULL;

        return slash != NULL && name_valid(repo, (size_t)(slash - repo)) &&
               name_valid(slash + 1, strlen(slash + 1));
}

bool hfhub_path_valid(const char *path)
{
        const char *p = path;

        if (path == NULL)
                return false;
        if (path[0] == '\0' || strcmp(path, ".") == 0)
                return true;
        if (path[0] == '/')
                return false;
        while (*p != '\0') {
                const char *end = strchr(p, '/');
                size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
                if (len == 0 || (len == 1 && p[0] == '.') ||
                    (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                                return false;
                p += len;
                if (*p == '/')
                        p++;
                if (end != NULL && *p == '\0')
                        return false; /* a trailing '/' */
        }
        return true;
}

static json_t *load(const char *body, size_t len, const char *what, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root = json_loadb(body, len, 0, &jerr);

        if (root == NULL) {
                (void)hoist_error_make(err, HOIST_ERR_PROVIDER,
                                       "the Hub's %s answer is not JSON: line %d: %s", what,
                                       jerr.line, jerr.text);
                return NULL;
        }
        if (!json_is_object(root)) {
                json_decref(root);
                (void)hoist_error_make(err, HOIST_ERR_PROVIDER,
                                       "the Hub's %s answer is not a JSON object", what);
                return NULL;
        }
        return root;
}

int hfhub_parse_preupload(const char *body, size_t len, struct hfhub_file *files, size_t n,
                          struct hoist_error **err)
{
        json_auto_t *root = load(body, len, "preupload", err);
        _cleanup_free_ bool *seen = NULL;
        json_t *arr, *v;
        size_t i;

        if (root == NULL)
                return -1;
        arr = json_object_get(root, "files");
        if (!json_is_array(arr))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's preupload answer has no 'files' array");
        seen = xcalloc(n + 1, sizeof *seen);
        json_array_foreach(arr, i, v)
        {
                const char *path = json_string_value(json_object_get(v, "path"));
                const char *mode = json_string_value(json_object_get(v, "uploadMode"));
                json_t *ign = json_object_get(v, "shouldIgnore");
                size_t k;

                if (path == NULL || mode == NULL)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's preupload answer: files[%zu] lacks "
                                                "'path' or 'uploadMode'",
                                                i);
                for (k = 0; k < n && strcmp(files[k].path, path) != 0; k++)
                        ;
                if (k == n)
                        continue; /* not one we asked about */
                if (strcmp(mode, "lfs") == 0)
                        files[k].lfs = true;
                else if (strcmp(mode, "regular") == 0)
                        files[k].lfs = false;
                else
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's preupload answer: '%s' has "
                                                "uploadMode '%.40s' (expected lfs or regular)",
                                                files[k].path, mode);
                files[k].ignored = json_is_true(ign);
                seen[k] = true;
        }
        for (size_t k = 0; k < n; k++)
                if (!seen[k])
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's preupload answer leaves out '%s'",
                                                files[k].path);
        return 0;
}

static void action_clear(struct hfhub_lfs_action *a)
{
        free(a->href);
        if (a->headers != NULL)
                for (char **h = a->headers; *h != NULL; h++)
                        free(*h);
        free(a->headers);
        *a = (struct hfhub_lfs_action){0};
}

void hfhub_lfs_objects_free(struct hfhub_lfs_object *o, size_t n)
{
        for (size_t i = 0; o != NULL && i < n; i++) {
                action_clear(&o[i].upload);
                action_clear(&o[i].verify);
                for (size_t k = 0; k < o[i].n_parts; k++)
                        free(o[i].parts[k]);
                free(o[i].parts);
                free(o[i].error);
        }
        free(o);
}

static bool all_digits(const char *s)
{
        if (*s == '\0' || strlen(s) > 9)
                return false;
        for (; *s != '\0'; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static bool header_text_ok(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 && *s != '\t')
                        return false;
        return true;
}

/* An action {href, header: {...}}; with MULTIPART, header's digit keys are
 * part URLs and chunk_size the part size, and they do not become headers. */
static int read_action(json_t *v, const char *name, struct hfhub_lfs_object *o,
                       struct hfhub_lfs_action *a, bool multipart_ok, struct hoist_error **err)
{
        const char *href = json_string_value(json_object_get(v, "href"));
        json_t *hdr = json_object_get(v, "header");
        const char *key;
        json_t *hv;
        size_t nh = 0, max_part = 0;

        if (!json_is_object(v) || href == NULL ||
            (strncmp(href, "http://", 7) != 0 && strncmp(href, "https://", 8) != 0))
                return hoist_error_make(
                        err, HOIST_ERR_PROVIDER,
                        "the Hub's LFS batch answer: object %s: '%s' has no http(s) "
                        "href",
                        o->oid, name);
        a->href = xstrdup(href);
        if (hdr != NULL && !json_is_object(hdr))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer: object %s: '%s' header is "
                                        "not an object",
                                        o->oid, name);
        a->headers = xcalloc(json_object_size(hdr) + 1, sizeof *a->headers);
        json_object_foreach(hdr, key, hv)
        {
                const char *s = json_string_value(hv);
                if (s == NULL || !header_text_ok(key) || !header_text_ok(s) || *key == '\0' ||
                    strchr(key, ':') != NULL)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's LFS batch answer: object %s: '%s' has a "
                                                "malformed header",
                                                o->oid, name);
                if (multipart_ok && all_digits(key)) {
                        size_t part = (size_t)strtoul(key, NULL, 10);
                        if (part > max_part)
                                max_part = part;
                        continue;
                }
                if (multipart_ok && strcmp(key, "chunk_size") == 0) {
                        char *end;
                        errno = 0;
                        unsigned long long cs = strtoull(s, &end, 10);
                        if (*s == '\0' || *end != '\0' || errno != 0 || cs == 0 || s[0] == '-')
                                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                        "the Hub's LFS batch answer: object %s: "
                                                        "chunk_size '%.20s' is not a size",
                                                        o->oid, s);
                        o->chunk_size = cs;
                        continue;
                }
                a->headers[nh++] = xasprintf("%s: %s", key, s);
        }
        if (max_part == 0)
                return 0;
        if (o->chunk_size == 0 || max_part > 100000)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer: object %s: part URLs without "
                                        "a usable chunk_size",
                                        o->oid);
        o->parts = xcalloc(max_part, sizeof *o->parts);
        json_object_foreach(hdr, key, hv)
        {
                if (!all_digits(key))
                        continue;
                size_t part = (size_t)strtoul(key, NULL, 10);
                const char *u = json_string_value(hv);
                if (part == 0 || o->parts[part - 1] != NULL ||
                    (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's LFS batch answer: object %s: part %zu "
                                                "is repeated, zero or not an http(s) URL",
                                                o->oid, part);
                o->parts[part - 1] = xstrdup(u);
        }
        o->n_parts = max_part;
        for (size_t i = 0; i < max_part; i++)
                if (o->parts[i] == NULL)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the Hub's LFS batch answer: object %s: part %zu "
                                                "has no URL",
                                                o->oid, i + 1);
        return 0;
}

static int read_object(json_t *v, size_t i, struct hfhub_lfs_object *o, struct hoist_error **err)
{
        const char *oid = json_string_value(json_object_get(v, "oid"));
        json_t *size = json_object_get(v, "size"), *actions, *e;

        if (!json_is_object(v) || oid == NULL || !digest_hex_valid(oid) || strlen(oid) != 64 ||
            !json_is_integer(size) || json_integer_value(size) < 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer: objects[%zu] lacks a sha256 "
                                        "'oid' or a 'size'",
                                        i);
        memcpy(o->oid, oid, 65);
        o->size = (uint64_t)json_integer_value(size);
        if ((e = json_object_get(v, "error")) != NULL) {
                const char *msg = json_string_value(json_object_get(e, "message"));
                json_t *code = json_object_get(e, "code");
                o->error = xasprintf("%s (code %" JSON_INTEGER_FORMAT ")",
                                     msg != NULL ? msg : "error", json_integer_value(code));
                return 0;
        }
        actions = json_object_get(v, "actions");
        if (actions == NULL)
                return 0;
        if (!json_is_object(actions))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer: object %s: 'actions' is not "
                                        "an object",
                                        o->oid);
        if ((e = json_object_get(actions, "upload")) != NULL) {
                o->has_upload = true;
                if (read_action(e, "upload", o, &o->upload, true, err) < 0)
                        return -1;
        }
        if ((e = json_object_get(actions, "verify")) != NULL) {
                o->has_verify = true;
                if (read_action(e, "verify", o, &o->verify, false, err) < 0)
                        return -1;
        }
        return 0;
}

int hfhub_parse_lfs_batch(const char *body, size_t len, struct hfhub_lfs_object **ret,
                          size_t *ret_n, struct hoist_error **err)
{
        json_auto_t *root = load(body, len, "LFS batch", err);
        struct hfhub_lfs_object *o;
        const char *transfer;
        json_t *arr, *v;
        size_t i, n;

        if (root == NULL)
                return -1;
        transfer = json_string_value(json_object_get(root, "transfer"));
        if (transfer != NULL && strcmp(transfer, "basic") != 0 &&
            strcmp(transfer, "multipart") != 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer picks transfer '%.40s' (hoist "
                                        "speaks basic and multipart)",
                                        transfer);
        arr = json_object_get(root, "objects");
        if (!json_is_array(arr))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's LFS batch answer has no 'objects' array");
        n = json_array_size(arr);
        o = xcalloc(n + 1, sizeof *o);
        json_array_foreach(arr, i, v)
        {
                if (read_object(v, i, &o[i], err) < 0) {
                        hfhub_lfs_objects_free(o, n);
                        return -1;
                }
        }
        *ret = o;
        *ret_n = n;
        return 0;
}

int hfhub_parse_commit(const char *body, size_t len, struct hfhub_commit *ret,
                       struct hoist_error **err)
{
        json_auto_t *root = load(body, len, "commit", err);
        const char *url, *oid;

        if (root == NULL)
                return -1;
        url = json_string_value(json_object_get(root, "commitUrl"));
        oid = json_string_value(json_object_get(root, "commitOid"));
        if (url == NULL || oid == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's commit answer lacks 'commitUrl' or "
                                        "'commitOid'");
        if (!header_text_ok(url) || !header_text_ok(oid))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the Hub's commit answer has control characters");
        *ret = (struct hfhub_commit){.url = xstrdup(url), .oid = xstrdup(oid)};
        return 0;
}

char *hfhub_error_text(const char *body, size_t len, const char *header_msg)
{
        json_auto_t *root = NULL;
        const char *s = NULL;
        struct buf b = {0};

        if (header_msg != NULL && *header_msg != '\0')
                s = header_msg;
        else if (body != NULL && len > 0 && (root = json_loadb(body, len, 0, NULL)) != NULL) {
                s = json_string_value(json_object_get(root, "error"));
                if (s == NULL)
                        s = json_string_value(json_object_get(root, "message"));
        }
        if (s == NULL)
                return NULL;
        /* One line of printable text, at most 300 bytes. */
        for (; *s != '\0' && b.len < 300; s++)
                buf_append_char(&b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
        buf_append(&b, "", 0);
        return buf_take(&b);
}

char *hfhub_commit_record(const char *repo, const char *revision, const struct hfhub_commit *c,
                          const char *from, int64_t time_ms)
{
        json_auto_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:I}", "repo", repo,
                                   "revision", revision != NULL ? revision : "main", "commit_url",
                                   c->url, "commit_oid", c->oid, "files", (json_int_t)c->n_files,
                                   "lfs_files", (json_int_t)c->n_lfs, "bytes", (json_int_t)c->bytes,
                                   "from", from, "time_ms", (json_int_t)time_ms);

        return json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
}

/* ---- the commit body ---- */

static void ndjson_line(struct buf *b, json_t *v)
{
        char *s = json_dumps(v, JSON_COMPACT);

        buf_append_str(b, s);
        buf_append_char(b, '\n');
        free(s);
        json_decref(v);
}

int hfhub_commit_body(const struct hfhub_file *files, size_t n, const char *summary, char **ret,
                      size_t *ret_len, struct hoist_error **err)
{
        _cleanup_buf_ struct buf b = {0};

        ndjson_line(&b,
                    json_pack("{s:s,s:{s:s,s:s}}", "key", "header", "value", "summary",
                              summary != NULL ? summary : "Upload with hoist", "description", ""));
        for (size_t i = 0; i < n; i++) {
                const struct hfhub_file *f = &files[i];
                if (f->ignored)
                        continue;
                if (f->lfs) {
                        ndjson_line(&b, json_pack("{s:s,s:{s:s,s:s,s:s,s:I}}", "key", "lfsFile",
                                                  "value", "path", f->path, "algo", "sha256", "oid",
                                                  f->sha256, "size", (json_int_t)f->size));
                        continue;
                }
                _cleanup_free_ char *data = NULL, *b64 = NULL;
                size_t len = 0;
                if (fs_read_file(f->local, &data, &len, err) < 0)
                        return -1;
                if (len != f->size)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' changed while it was uploaded (%" PRIu64
                                                " bytes, now %zu)",
                                                f->local, f->size, len);
                b64 = webhook_base64_encode(data, len);
                ndjson_line(&b, json_pack("{s:s,s:{s:s,s:s,s:s}}", "key", "file", "value",
                                          "content", b64, "path", f->path, "encoding", "base64"));
        }
        *ret_len = b.len;
        buf_append(&b, "", 0);
        *ret = buf_take(&b);
        return 0;
}

/* ---- the files of a directory ---- */

/* nftw() takes no user data: one walk at a time per process (hoist and the
 * entrypoint upload one model at a time). */
static struct {
        struct hfhub_file *v;
        size_t n, cap, skipped;
        size_t root_len;
        const char *prefix;
} walk;

static int on_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)ftw;
        if (type == FTW_D || type == FTW_DP)
                return 0;
        if (type != FTW_F || !S_ISREG(st->st_mode)) {
                log_debug("'%s' is not a regular file; leaving it out of the Hub upload", path);
                walk.skipped++;
                return 0;
        }
        const char *rel = path + walk.root_len;
        while (*rel == '/')
                rel++;
        if (walk.n == walk.cap) {
                walk.cap = walk.cap ? walk.cap * 2 : 16;
                walk.v = xreallocarray(walk.v, walk.cap, sizeof *walk.v);
        }
        walk.v[walk.n++] = (struct hfhub_file){
                .path = walk.prefix[0] != '\0' ? xasprintf("%s/%s", walk.prefix, rel)
                                               : xstrdup(rel),
                .local = xstrdup(path),
                .size = (uint64_t)st->st_size,
        };
        return 0;
}

static int by_path(const void *a, const void *b)
{
        return strcmp(((const struct hfhub_file *)a)->path, ((const struct hfhub_file *)b)->path);
}

static int hash_file(struct hfhub_file *f, struct hoist_error **err)
{
        unsigned char sample[SAMPLE_LEN];
        _cleanup_close_ int fd = open(f->local, O_RDONLY | O_CLOEXEC);
        ssize_t got;

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", f->local);
        do
                got = pread(fd, sample, sizeof sample, 0);
        while (got < 0 && errno == EINTR);
        if (got < 0)
                return hoist_error_errno(err, "read '%s'", f->local);
        f->sample64 = webhook_base64_encode(sample, (size_t)got);
        return digest_file_hex(f->local, f->sha256, &f->size, err);
}

int hfhub_files_from_dir(const char *dir, const char *prefix, struct hfhub_file **ret,
                         size_t *ret_n, size_t *ret_skipped, struct hoist_error **err)
{
        _cleanup_free_ char *pfx = NULL;
        int r;

        if (prefix == NULL || strcmp(prefix, ".") == 0)
                prefix = "";
        if (!hfhub_path_valid(prefix))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "path_in_repo '%s' is not a relative path inside the repo",
                                        prefix);
        pfx = xstrdup(prefix);
        if (!fs_is_dir(dir))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "'%s' is not a directory: nothing to upload to the Hub",
                                        dir);
        walk.v = NULL;
        walk.n = walk.cap = walk.skipped = 0;
        walk.root_len = strlen(dir);
        walk.prefix = pfx;
        r = nftw(dir, on_entry, 16, FTW_PHYS);
        struct hfhub_file *v = walk.v;
        size_t n = walk.n;
        walk.v = NULL;
        if (r != 0) {
                hfhub_files_free(v, n);
                return hoist_error_errno(err, "read the directory '%s'", dir);
        }
        if (n == 0) {
                hfhub_files_free(v, n);
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "'%s' holds no files: nothing to upload to the Hub", dir);
        }
        qsort(v, n, sizeof *v, by_path);
        for (size_t i = 0; i < n; i++) {
                if (hash_file(&v[i], err) < 0) {
                        hfhub_files_free(v, n);
                        return -1;
                }
        }
        *ret = v;
        *ret_n = n;
        if (ret_skipped != NULL)
                *ret_skipped = walk.skipped;
        return 0;
}

void hfhub_files_free(struct hfhub_file *files, size_t n)
{
        for (size_t i = 0; files != NULL && i < n; i++) {
                free(files[i].path);
                free(files[i].local);
                free(files[i].sample64);
        }
        free(files);
}

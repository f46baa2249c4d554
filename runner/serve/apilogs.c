/* SPDX-License-Identifier: MIT */
#include "runner/serve/apilogs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/job/jobstorage.h"
#include "runner/control/reconcile.h"
#include "xalloc.h"

#define DEFAULT_LIMIT (64 << 10)
#define MAX_LIMIT (1 << 20)
#define MAX_TAIL 100000

bool api_node_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 64 || name[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* The first node log under jobs/<id>/logs/ (sorted), or NULL. */
static char *first_node(struct storage *sto, const char *job_id)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/logs/", job_id);
        _cleanup_strv_ char **keys = NULL;
        struct hoist_error *err = NULL;

        if (storage_list(sto, prefix, &keys, &err) < 0) {
                hoist_error_free(err);
                return NULL;
        }
        for (char **k = keys; *k != NULL; k++) {
                const char *name = *k + strlen(prefix);
                size_t len = strlen(name);
                if (len > 4 && strcmp(name + len - 4, ".log") == 0 && strchr(name, '/') == NULL)
                        return xstrndup(name, len - 4);
        }
        return NULL;
}

int apilog_open(struct api_service *api, const struct job_record *job, const char *node,
                struct apilog *ret, char **ret_node, struct hoist_error **err)
{
        _cleanup_free_ char *chosen = NULL;
        struct storage *sto = NULL;

        if (node != NULL && !api_node_valid(node))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "query parameter 'node': '%.64s' is not a node name "
                                        "(node0, node1, ...)",
                                        node);
        if (job->storage_url == NULL)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "job %s has no storage yet",
                                        job->id);
        if (jobstorage_open(api->home, job->storage_url, &sto, err) < 0)
                return -1;
        chosen = node != NULL ? xstrdup(node) : first_node(sto, job->id);
        *ret = (struct apilog){.sto = sto};
        if (chosen == NULL) {
                chosen = xstrdup("node0");
                ret->job_id = xstrdup(job->id);
        }
        ret->key = reconcile_log_key(job->id, chosen);
        ret->path = storage_local_path(sto, ret->key);
        *ret_node = TAKE_PTR(chosen);
        return 0;
}

int apilog_settle(struct apilog *l, char **node)
{
        char *found;

        if (l->job_id == NULL || (found = first_node(l->sto, l->job_id)) == NULL)
                return 0;
        free(l->key);
        free(l->path);
        l->key = reconcile_log_key(l->job_id, found);
        l->path = storage_local_path(l->sto, l->key);
        free(l->job_id);
        l->job_id = NULL;
        free(*node);
        *node = found;
        return 1;
}

void apilog_close(struct apilog *l)
{
        storage_close(l->sto);
        free(l->key);
        free(l->path);
        free(l->job_id);
        *l = (struct apilog){0};
}

int apilog_read(struct apilog *l, char **ret_data, size_t *ret_len, struct hoist_error **err)
{
        int r;

        if (l->path != NULL) {
                _cleanup_close_ int fd = open(l->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT) {
                        *ret_data = xstrdup("");
                        *ret_len = 0;
                        return 0;
                }
                if (fd < 0)
                        return hoist_error_errno(err, "open '%s'", l->path);
                return fs_read_fd(fd, l->path, SIZE_MAX, ret_data, ret_len, err);
        }
        r = storage_exists(l->sto, l->key, NULL, err);
        if (r < 0)
                return -1;
        if (r == 0) {
                *ret_data = xstrdup("");
                *ret_len = 0;
                return 0;
        }
        return storage_get_bytes(l->sto, l->key, ret_data, ret_len, err);
}

int apilog_read_from(struct apilog *l, uint64_t offset, size_t max, char **ret_data,
                     size_t *ret_len, struct hoist_error **err)
{
        _cleanup_free_ char *all = NULL;
        size_t len = 0;

        if (l->path != NULL) {
                _cleanup_close_ int fd = open(l->path, O_RDONLY | O_CLOEXEC);
                char *data;
                ssize_t got;
                if (fd < 0 && errno == ENOENT) {
                        *ret_data = xstrdup("");
                        *ret_len = 0;
                        return 0;
                }
                if (fd < 0)
                        return hoist_error_errno(err, "open '%s'", l->path);
                data = xmalloc(max + 1);
                do
                        got = pread(fd, data, max, (off_t)offset);
                while (got < 0 && errno == EINTR);
                if (got < 0) {
                        free(data);
                        return hoist_error_errno(err, "read '%s'", l->path);
                }
                data[got] = '\0';
                *ret_data = data;
                *ret_len = (size_t)got;
                return 0;
        }
        if (apilog_read(l, &all, &len, err) < 0)
                return -1;
        if (offset >= len) {
                *ret_data = xstrdup("");
                *ret_len = 0;
                return 0;
        }
        len -= (size_t)offset;
        if (len > max)
                len = max;
        *ret_data = xmalloc(len + 1);
        memcpy(*ret_data, all + offset, len);
        (*ret_data)[len] = '\0';
        *ret_len = len;
        return 0;
}

/* The length of the UTF-8 sequence at S (N bytes there): 0 when invalid,
 * -1 when cut short. */
static int utf8_seq(const unsigned char *s, size_t n)
{
        int len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (int i = 1; i < len; i++) {
                if ((size_t)i >= n)
                        return -1;
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

size_t apilog_utf8(struct buf *out, const char *data, size_t len, int final)
{
        const unsigned char *s = (const unsigned char *)data;
        size_t i = 0;

        while (i < len) {
                int k = utf8_seq(s + i, len - i);
                if (k < 0 && !final)
                        break;
                if (k <= 0) {
                        buf_append_str(out, "\xef\xbf\xbd");
                        i++;
                        continue;
                }
                if (s[i] == 0) /* a NUL byte would end the text early somewhere */
                        buf_append_str(out, "\xef\xbf\xbd");
                else
                        buf_append(out, data + i, (size_t)k);
                i += (size_t)k;
        }
        return i;
}

/* Where the last TAIL lines of DATA begin. */
static size_t tail_start(const char *data, size_t len, int64_t tail)
{
        size_t i = len;

        if (i > 0 && data[i - 1] == '\n')
                i--;
        while (i > 0) {
                if (data[i - 1] == '\n' && --tail == 0)
                        return i;
                i--;
        }
        return 0;
}

enum MHD_Result api_job_logs(struct api_service *api, struct MHD_Connection *conn,
                             struct api_req *r, const char *id)
{
        static const char *const params[] = {"node", "offset", "limit", "tail", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_free_ char *node = NULL, *data = NULL;
        _cleanup_buf_ struct buf text = {0};
        struct apilog log = {0};
        int64_t offset = 0, limit = 0, tail = 0;
        size_t len = 0, start, end, took;
        json_t *body;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "offset", 0, INT64_MAX, 0, &offset, &err) < 0 ||
            apiquery_int(&r->q, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, &limit, &err) < 0 ||
            apiquery_int(&r->q, "tail", 1, MAX_TAIL, 0, &tail, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (tail > 0 && apiquery_get(&r->q, "offset") != NULL)
                return api_reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                                       "query parameters 'tail' and 'offset' do not go together; "
                                       "give one");
        if (api_get_job(api, id, &job, &err) < 0 ||
            apilog_open(api, job, apiquery_get(&r->q, "node"), &log, &node, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (apilog_read(&log, &data, &len, &err) < 0) {
                apilog_close(&log);
                return api_reply_hoist_error(conn, err);
        }
        apilog_close(&log);
        if (tail > 0) {
                start = tail_start(data, len, tail);
                end = len;
        } else {
                start = (uint64_t)offset < len ? (size_t)offset : len;
                end = len - start > (size_t)limit ? start + (size_t)limit : len;
        }
        /* A character cut at the range's end comes whole with the next read. */
        took = apilog_utf8(&text, data + start, end - start, 0);
        buf_append_char(&text, '\0');
        body = json_pack("{s:s,s:I,s:I,s:s}", "node", node, "offset", (json_int_t)start,
                         "next_offset", (json_int_t)(start + took), "text", text.data);
        if (body == NULL)
                return api_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                       "the log does not encode as JSON");
        return api_reply_json(conn, MHD_HTTP_OK, body);
}

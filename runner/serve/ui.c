/* SPDX-License-Identifier: MIT */
#include "runner/serve/ui.h"

#include <string.h>

/* The page loads only its own scripts, styles and images, talks only to
 * this server, and may not be framed: no inline script, no eval, nothing
 * from elsewhere.  Referrer-Policy keeps the address out of any request
 * the page makes. */
#define UI_CSP                                                                                     \
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "    \
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

static bool is_get_or_head(const char *method)
{
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

bool ui_wants(struct MHD_Connection *conn, const char *url, const char *method)
{
        if (!is_get_or_head(method))
                return false;
        if (strcmp(url, "/") != 0 && strncmp(url, "/_ui/", 5) != 0)
                return false;
        if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) !=
            NULL)
                return false;
        return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "X-Amz-Signature") == NULL;
}

const struct ui_file *ui_find(const char *url)
{
        for (size_t i = 0; i < ui_files_count; i++)
                if (strcmp(ui_files[i].path, url) == 0)
                        return &ui_files[i];
        return NULL;
}

static void add_common_headers(struct MHD_Response *resp)
{
        (void)MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
        (void)MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        (void)MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        (void)MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        (void)MHD_add_response_header(resp, "Server", "hoist");
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result r;

        if (resp == NULL)
                return MHD_NO;
        add_common_headers(resp);
        (void)MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        (void)MHD_add_response_header(resp, "Cache-Control", "no-store");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

bool ui_etag_matches(const char *list, const char *etag)
{
        size_t n = strlen(etag);

        if (list == NULL)
                return false;
        for (const char *p = list; *p != '\0';) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (strncmp(p, "W/", 2) == 0)
                        p += 2;
                if (*p == '*' || (strncmp(p, etag, n) == 0 &&
                                  (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t')))
                        return true;
                while (*p != '\0' && *p != ',')
                        p++;
        }
        return false;
}

enum MHD_Result ui_handle(struct MHD_Connection *conn, const char *url, const char *method)
{
        const struct ui_file *f = ui_find(url);
        struct MHD_Response *resp;
        unsigned status = MHD_HTTP_OK;
        enum MHD_Result r;

        (void)method; /* libmicrohttpd sends no body for HEAD */
        if (f == NULL)
                return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
        if (ui_etag_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_IF_NONE_MATCH),
                            f->etag)) {
                status = MHD_HTTP_NOT_MODIFIED;
                resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        } else {
                resp = MHD_create_response_from_buffer(f->size, (void *)f->data,
                                                       MHD_RESPMEM_PERSISTENT);
        }
        if (resp == NULL)
                return MHD_NO;
        add_common_headers(resp);
        (void)MHD_add_response_header(resp, "ETag", f->etag);
        /* Revalidated on every load (a 304 costs one round trip), so a new
         * hoist binary's files are never mixed with an old one's. */
        (void)MHD_add_response_header(resp, "Cache-Control", "no-cache");
        if (status == MHD_HTTP_OK)
                (void)MHD_add_response_header(resp, "Content-Type", f->content_type);
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

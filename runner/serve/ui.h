/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_UI_H
#define HOIST_SERVE_UI_H

/* The dashboard's static files (runner/serve/ui/), embedded in the binary at
 * build time by scripts/embed-ui.sh: served at "/" and under "/_ui/", with
 * an ETag, revalidation and a strict Content-Security-Policy.  The page
 * itself talks to the REST API under /api/v1 with a bearer token. */

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* One embedded file (the generated table in $(BUILD)/gen/ui_files.c). */
struct ui_file {
        const char *path;         /* "/_ui/app.js"; index.html is "/" */
        const char *content_type; /* with charset for text */
        const char *etag;         /* quoted, from the content's SHA-256 */
        const unsigned char *data;
        size_t size;
};

extern const struct ui_file ui_files[];
extern const size_t ui_files_count;

/* Whether a request belongs to the dashboard (contract K4): GET or HEAD of
 * "/" or of a path under "/_ui/", carrying no Authorization header and no
 * X-Amz-Signature query parameter (those are S3 requests). */
bool ui_wants(struct MHD_Connection *conn, const char *url, const char *method);

/* Looks URL up in the embedded files (NULL when none). */
const struct ui_file *ui_find(const char *url);

/* Whether an If-None-Match header value (a list; NULL: none) names ETAG
 * (quoted, as in struct ui_file), weakly or strongly, or is "*". */
bool ui_etag_matches(const char *if_none_match, const char *etag);

/* Answers a request ui_wants() took: the file, 304 when If-None-Match holds
 * its ETag, 404 for a path under /_ui/ that is not embedded. */
enum MHD_Result ui_handle(struct MHD_Connection *conn, const char *url, const char *method);

#endif

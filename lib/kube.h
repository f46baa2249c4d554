/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBE_H
#define HOIST_KUBE_H

/*
 * A Kubernetes API client over libcurl: JSON requests, watches and streamed
 * bodies (pod logs), authenticated as a struct kube_config says (bearer
 * token, token file, client certificate, or an exec credential plugin whose
 * ExecCredential is cached until its expirationTimestamp; a 401 runs the
 * plugin again, once).  The CA is the kubeconfig's; only when it gives none
 * are CURL_CA_BUNDLE and SSL_CERT_FILE honoured.  Tokens and keys never
 * reach a log line or an error.
 *
 * A client may be used from several threads: credentials are guarded by a
 * lock and every request has its own curl handle.
 */

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "kubeconfig.h"

struct kube_client;

/* CFG is copied; the caller may free it afterwards. */
int kube_client_new(const struct kube_config *cfg, struct kube_client **ret,
                    struct hoist_error **err);
void kube_client_free(struct kube_client *c);
/* The namespace of the config the client was made from. */
const char *kube_client_namespace(const struct kube_client *c);

/* Makes sure the client holds a usable credential: runs the exec plugin
 * when it has none cached or the cached one has expired (always, with
 * FORCE), and re-reads a token file with FORCE.  Requests call this
 * themselves; exposed for tests and to fail early. */
int kube_client_prepare_credentials(struct kube_client *c, int force, struct hoist_error **err);

/* METHOD PATH (e.g. "/apis/batch/v1/namespaces/ns/jobs") with BODY (NULL:
 * none) of CONTENT_TYPE (NULL: application/json).  Returns 0 whenever the
 * server answered, whatever the status: *ret_status is the HTTP status and
 * *ret_json (may be NULL) the parsed body (a Status object on errors; NULL
 * when the body is empty or not JSON).  -1 when no answer came (connection,
 * TLS, credentials). */
int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const char *body, long *ret_status, json_t **ret_json,
                 struct hoist_error **err);

#define KUBE_WATCH_GONE 1

/* Watches the list PATH ("/api/v1/namespaces/ns/pods?labelSelector=..."):
 * the client adds watch=1, allowWatchBookmarks=true, resourceVersion
 * (when RESOURCE_VERSION is not NULL) and timeoutSeconds=TIMEOUT_S (when
 * > 0).  ON_EVENT gets each event (type ADDED MODIFIED DELETED BOOKMARK
 * ERROR; OBJECT borrowed) and returns 0 to go on, non-zero to stop (the
 * watch then returns 0).  *ret_resource_version (may be NULL) gets the last
 * resourceVersion seen, bookmarks included, or a copy of RESOURCE_VERSION.
 * Returns 0 when the stream ends or drops (reconnect from
 * *ret_resource_version with backoff), KUBE_WATCH_GONE on 410 Gone (an
 * ERROR event with code 410, or an HTTP 410: relist), -1 on any other
 * error (a non-200 answer, a malformed event). */
int kube_watch(struct kube_client *c, const char *path, const char *resource_version, int timeout_s,
               int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
               char **ret_resource_version, struct hoist_error **err);

/* Copies the body of GET PATH (a pod's log with follow=true) to FD as it
 * comes.  A non-200 answer is an error carrying the Status message. */
int kube_stream(struct kube_client *c, const char *path, int fd, struct hoist_error **err);

/* ---- pure helpers (unit-tested and fuzzed) ---- */

/* Parses one watch event line ({"type":T,"object":{...}}).  *ret_type is one
 * of the five types above (a static string); *ret_object is a new reference.
 * Fails on anything else. */
int kube_watch_parse_event(const char *line, size_t len, const char **ret_type, json_t **ret_object,
                           struct hoist_error **err);

/* The message of a Status object, for an error: "CODE REASON: message", or
 * "HTTP CODE" when STATUS says nothing. Free the result. */
char *kube_status_message(long http_status, json_t *status);

/* URL-encodes S for a query parameter value. Free the result. */
char *kube_query_escape(const char *s);

static inline void kube_client_freep(struct kube_client **c)
{
        kube_client_free(*c);
}
#define _cleanup_kube_client_ __attribute__((cleanup(kube_client_freep)))

#endif

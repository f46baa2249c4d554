/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REGISTRY_AUTH_H
#define HOIST_REGISTRY_AUTH_H

/*
 * Registry authentication: WWW-Authenticate challenges (RFC 7235), the
 * credentials a user saved with `docker login` / `podman login`, and the
 * Bearer token flow of the distribution token spec.
 *
 * Credentials are looked up in this order, the first file that names the
 * host winning: $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json,
 * $DOCKER_CONFIG/config.json (or ~/.docker/config.json).  In a docker config,
 * credHelpers[host] and then credsStore run `docker-credential-<name> get`;
 * auths[host].auth is base64 "user:password" (or username + password).
 * HOIST_REGISTRY_USER and HOIST_REGISTRY_PASSWORD, when both set, come first.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct registry_challenge {
        char *scheme; /* lowercased: "basic", "bearer" */
        char *realm;
        char *service;
        char *scope;
        char *error; /* "insufficient_scope", ... */
};

/* Parses a WWW-Authenticate value into its challenges (at least one). */
int registry_auth_parse_challenges(const char *header, struct registry_challenge **ret,
                                   size_t *ret_n, struct hoist_error **err);
void registry_challenges_free(struct registry_challenge *c, size_t n);

struct registry_creds {
        char *username;
        char *password; /* or an identity token when username is "<token>" */
        char *source;   /* where they came from, for messages: never a secret */
};
void registry_creds_free(struct registry_creds *c);

/* Finds credentials for HOST ("host[:port]"; "docker.io" also matches
 * "https://index.docker.io/v1/").  Returns 1 with *ret set when found, 0
 * when nothing names HOST, -1 on a broken file or helper. */
int registry_auth_lookup(const char *host, struct registry_creds **ret, struct hoist_error **err);

/* A Bearer token answer: {"token"|"access_token", "expires_in", "issued_at"}. */
struct registry_token {
        char *token;
        int64_t expires_at; /* monotonic seconds; 0: unknown (60 s assumed) */
};
void registry_token_free(struct registry_token *t);
int registry_auth_parse_token(const char *json, size_t len, int64_t now,
                              struct registry_token **ret, struct hoist_error **err);

/* Builds the token URL: REALM?service=SERVICE&scope=S1&scope=S2... (escaped). */
char *registry_auth_token_url(const char *realm, const char *service, const char *const *scopes,
                              size_t n_scopes);

/* Base64 of "user:pass" for a Basic header. */
char *registry_auth_basic(const struct registry_creds *c);

/* Decodes standard base64; NULL on malformed input. */
char *registry_base64_decode(const char *in, size_t *ret_len);

static inline void registry_creds_freep(struct registry_creds **c)
{
        registry_creds_free(*c);
}
#define _cleanup_registry_creds_ __attribute__((cleanup(registry_creds_freep)))

#endif

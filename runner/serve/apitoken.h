/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_APITOKEN_H
#define HOIST_SERVE_APITOKEN_H

/*
 * The REST API's bearer token: 256 random bits, hex, made on first start
 * into SERVE_DIR/api.token (mode 0600) and kept there; every /api/v1
 * request must carry "Authorization: Bearer <token>".  It is compared in
 * constant time and never logged.
 */

#include <stdbool.h>

#include "error.h"

#define APITOKEN_FILE "api.token"
#define APITOKEN_LEN 64 /* hex digits */

/* The token (loaded, or made and stored on first use). */
int apitoken_load(const char *serve_dir, char **ret_token, struct hoist_error **err);

/* True when AUTHORIZATION (the header, may be NULL) is "Bearer TOKEN". */
bool apitoken_check(const char *token, const char *authorization);

#endif

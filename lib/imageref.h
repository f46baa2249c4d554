/* SPDX-License-Identifier: MIT */
#ifndef HOIST_IMAGEREF_H
#define HOIST_IMAGEREF_H

/*
 * Image references: "[host[:port]/]repo[:tag][@sha256:<hex>]".  The first
 * path component is a registry host when it has a '.' or a ':' or is
 * "localhost"; otherwise the host is docker.io and a one-component repo gets
 * "library/".  "index.docker.io" and "registry-1.docker.io" normalise to
 * "docker.io".  With neither tag nor digest the tag is "latest".
 */

#include "error.h"

struct imageref {
        char *host;   /* "docker.io", "127.0.0.1:5000" */
        char *repo;   /* "library/busybox", "team/trainer" */
        char *tag;    /* NULL when only a digest was given */
        char *digest; /* "sha256:<hex>" or NULL */
};

int imageref_parse(const char *s, struct imageref **ret, struct hoist_error **err);
void imageref_free(struct imageref *r);

/* "host/repo:tag", "host/repo@digest" or "host/repo:tag@digest". */
char *imageref_string(const struct imageref *r);
/* "host/repo" */
char *imageref_name(const struct imageref *r);
/* The tag, or else the digest: what a manifest GET names. */
const char *imageref_reference(const struct imageref *r);
/* The host to connect to: "registry-1.docker.io" for docker.io. */
const char *imageref_api_host(const struct imageref *r);

static inline void imageref_freep(struct imageref **r)
{
        imageref_free(*r);
}
#define _cleanup_imageref_ __attribute__((cleanup(imageref_freep)))

#endif

/* SPDX-License-Identifier: MIT */
#ifndef HOIST_S3XML_H
#define HOIST_S3XML_H

/*
 * The XML of the S3 API, parsed with expat into a small element tree that
 * both the client (lib/s3) and the server (runner/serve) read, and written
 * with escaping.  Untrusted input: depth, element count and size are capped,
 * DTDs and entity declarations are refused (no billion laughs, no external
 * entities), and namespaces are ignored (element names are local names).
 */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define S3XML_MAX_DEPTH 32
#define S3XML_MAX_ELEMENTS 200000
#define S3XML_MAX_SIZE (64u << 20)

struct s3xml_node {
        char *name; /* local name, namespace prefix stripped */
        char *text; /* concatenated character data, "" when none (never NULL) */
        struct s3xml_node **children;
        size_t n_children;
};

/* Parses DATA; NAME labels errors ("'ListBucketResult': line 3: ..."). */
int s3xml_parse(const char *data, size_t len, const char *name, struct s3xml_node **ret_root,
                struct hoist_error **err);
void s3xml_free(struct s3xml_node *node);

/* The first child called NAME, or NULL. */
const struct s3xml_node *s3xml_child(const struct s3xml_node *node, const char *name);
/* The text of the first child called NAME, or NULL when there is none. */
const char *s3xml_child_text(const struct s3xml_node *node, const char *name);
/* Iterates children called NAME: pass NULL first, then the previous result.
 * Nodes must come from s3xml_parse(). */
const struct s3xml_node *s3xml_next(const struct s3xml_node *node, const char *name,
                                    const struct s3xml_node *prev);
/* Child text as an unsigned integer / boolean ("true"/"false"); -1 when
 * missing or malformed, with *err naming the element. */
int s3xml_child_u64(const struct s3xml_node *node, const char *name, uint64_t *ret,
                    struct hoist_error **err);
int s3xml_child_bool(const struct s3xml_node *node, const char *name, int *ret,
                     struct hoist_error **err);

/* Appends TEXT to B with &, <, >, ", ' escaped (and control characters
 * other than tab, LF and CR dropped, since XML 1.0 cannot carry them). */
void s3xml_escape(struct buf *b, const char *text);
/* Appends "<NAME>escaped text</NAME>". */
void s3xml_element(struct buf *b, const char *name, const char *text);

/* An S3 <Error>: 1 and fills the fields when ROOT is one, else 0. */
struct s3xml_error {
        char *code;
        char *message;
        char *resource;
        char *request_id;
};
int s3xml_parse_error(const struct s3xml_node *root, struct s3xml_error *ret);
void s3xml_error_clear(struct s3xml_error *e);

static inline void s3xml_freep(struct s3xml_node **n)
{
        s3xml_free(*n);
}
#define _cleanup_s3xml_ __attribute__((cleanup(s3xml_freep)))

#endif

/* SPDX-License-Identifier: MIT */
#ifndef HOIST_CONFIG_H
#define HOIST_CONFIG_H

/*
 * A small YAML document loader (libyaml's event API) that keeps the line and
 * column of every node, so whoever reads a file the user wrote can say
 * "'job.yaml':12: field 'limits.max_runtime': expected a duration like 90s,
 * 15m or 2h, got 'soon'".
 *
 * It reads one document of scalars, sequences and mappings.  It rejects what
 * a hand-written config never needs and an attacker could abuse: anchors and
 * aliases (billion laughs), duplicate mapping keys, nesting deeper than
 * CONFIG_MAX_DEPTH, documents larger than CONFIG_MAX_SIZE, NUL characters in
 * scalars, and more than one document.  Tags are ignored: every scalar is
 * kept as the text written, and the getters below give it a type.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CONFIG_MAX_DEPTH 64
#define CONFIG_MAX_SIZE (1024 * 1024)

enum config_type {
        CONFIG_SCALAR,
        CONFIG_SEQUENCE,
        CONFIG_MAPPING,
};

struct config_node;

struct config_pair {
        char *key; /* mapping keys are scalars */
        int key_line, key_col;
        struct config_node *value;
};

struct config_node {
        enum config_type type;
        int line, col;    /* 1-based start of the node */
        const char *file; /* the document's name, for errors; owned by the root */

        char *text; /* SCALAR: the text as written, NUL-terminated */
        size_t len;
        int plain; /* SCALAR: written unquoted (so "", ~ and null mean nothing) */

        struct config_node **items; /* SEQUENCE, in document order */
        size_t n_items;
        struct config_pair *pairs; /* MAPPING, in document order, keys unique */
        size_t n_pairs;

        char *owned_file; /* set on the root only */
};

/* Parses TEXT (LEN bytes).  NAME labels errors ("'job.yaml':3:7: ..."). */
int config_parse(const char *text, size_t len, const char *name, struct config_node **ret_root,
                 struct hoist_error **err);
int config_load_file(const char *path, struct config_node **ret_root, struct hoist_error **err);
void config_node_free(struct config_node *node);

/* "a string", "a sequence", "a mapping". */
const char *config_type_name(enum config_type type);
/* True for an unquoted empty scalar, "~", "null", "Null" or "NULL". */
int config_is_null(const struct config_node *node);
/* True for an unquoted scalar with no text at all ("key:" and nothing after). */
int config_is_empty(const struct config_node *node);

/* The value of KEY in mapping MAP, or NULL (also when MAP is NULL or not a
 * mapping). */
const struct config_node *config_get(const struct config_node *map, const char *key);
const struct config_pair *config_get_pair(const struct config_node *map, const char *key);

/* Text for a message: the scalar in quotes (control characters replaced,
 * long text shortened), "nothing" for an empty value, else "a mapping" or
 * "a sequence".  Free the result. */
char *config_describe(const struct config_node *node);
/* S quoted for a message, with the same replacing and shortening. */
char *config_quote(const char *s);

/* Sets *err to "'FILE':LINE: field 'FIELD': MESSAGE" (without the field part
 * when FIELD is NULL) with code HOIST_ERR_INPUT, and returns -1. */
int config_error(const struct config_node *node, const char *field, struct hoist_error **err,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Same at an explicit line. */
int config_error_at(const char *file, int line, const char *field, struct hoist_error **err,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Typed getters.  FIELD is the dotted path named in errors
 * ("limits.max_runtime").  They write *ret only on success.
 */
/* A scalar that is not null; copied. */
int config_get_string(const struct config_node *node, const char *field, char **ret,
                      struct hoist_error **err);
/* Any scalar but an empty unquoted one, kept as written ("0.1", "yes", "null"). */
int config_get_scalar(const struct config_node *node, const char *field, char **ret,
                      struct hoist_error **err);
/* true/false, yes/no, on/off (any case). */
int config_get_bool(const struct config_node *node, const char *field, int *ret,
                    struct hoist_error **err);
/* A decimal integer in [MIN, MAX]. */
int config_get_int(const struct config_node *node, const char *field, int64_t min, int64_t max,
                   int64_t *ret, struct hoist_error **err);
/* A duration (config_parse_duration) in seconds. */
int config_get_duration(const struct config_node *node, const char *field, int64_t *ret,
                        struct hoist_error **err);
/* A sequence of non-null scalars; a NULL-terminated copy. */
int config_get_strv(const struct config_node *node, const char *field, char ***ret,
                    struct hoist_error **err);
/* A mapping: checks the type only. */
int config_check_mapping(const struct config_node *node, const char *field,
                         struct hoist_error **err);
/* Checks that every key of mapping MAP is in VALID (NULL-terminated); the
 * error names the first unknown key, suggests the closest valid one and lists
 * them all.  FIELD names MAP in the error; NULL for the top level. */
int config_check_keys(const struct config_node *map, const char *field, const char *const *valid,
                      struct hoist_error **err);

/* Parses "90", "90s", "15m", "2h", "1d" into seconds; -1 on a negative
 * number, an overflow, a unit it does not know or anything else. */
int64_t config_parse_duration(const char *s);

static inline void config_node_freep(struct config_node **n)
{
        config_node_free(*n);
}
#define _cleanup_config_node_ __attribute__((cleanup(config_node_freep)))

#endif

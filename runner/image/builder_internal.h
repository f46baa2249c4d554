/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_BUILDER_INTERNAL_H
#define HOIST_RUNNER_BUILD_BUILDER_INTERNAL_H

/* What builder.c and copy.c share: the state of one build. */

#include <stdint.h>

#include "runner/image/builder.h"
#include "runner/image/cache.h"
#include "runner/image/compress.h"
#include "runner/image/dfvars.h"
#include "runner/image/dockerfile.h"
#include "runner/image/dockerignore.h"
#include "runner/image/layer.h"
#include "ocilayout.h"
#include "runner/image/stage.h"

#define HOIST_ENTRYPOINT_PATH "/opt/hoist/bin/hoist-entrypoint"

struct build {
        const struct builder_options *o;
        struct dockerfile *df;
        struct dfvars *global;
        struct dockerignore *di;
        struct ocilayout *lay;
        struct build_cache *cache;
        enum compression comp;
        int64_t epoch;
        char *context;        /* absolute */
        char *work;           /* this build's scratch directory */
        struct stage *stages; /* one per Dockerfile stage; built on demand */
        int *building;        /* cycle guard */
        struct stage *images; /* COPY --from=IMAGE sources */
        char **image_refs;
        size_t n_images;
        unsigned step, total, cached;
        unsigned seq; /* for unique scratch names */
};

/* The state of the stage being built, for the step handlers. */
struct stage_ctx {
        struct build *b;
        struct stage *s;
        size_t index;
        struct dfvars *vars;
        char **shell; /* SHELL, default /bin/sh -c */
        int cmd_set;  /* CMD given in this stage (ENTRYPOINT keeps it) */
};

/* Prints a line to the build's output, if any. */
void build_say(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 and *ret filled when KEY is cached (and its blob is in the store). */
int build_lookup(struct build *b, const char *key, struct cache_entry *ret);
/* Stores an entry, warning (not failing) when the cache cannot be written. */
void build_remember(struct build *b, const char *key, const struct cache_entry *e);

/* Prefixes "'Dockerfile' line N: " unless the message has it already. */
int build_fail(struct build *b, const struct df_instr *in, struct hoist_error **err);

/* A fresh scratch path in the build's work directory ("layer-7.tmp"). */
char *build_scratch(struct build *b, const char *what);

/* The stage at INDEX, built first when it is not yet. */
int build_stage_get(struct build *b, size_t index, struct stage **ret, struct hoist_error **err);
/* The root filesystem of stage S, unpacked up to its last layer. */
int build_materialize(struct build *b, struct stage *s, struct hoist_error **err);

/* Moves a layer written by layer.h into the store and appends it to S
 * (history CREATED_BY); fills *ret (may be NULL) with the stored layer. */
int build_add_layer(struct build *b, struct stage *s, const char *path, const struct layer_info *li,
                    const char *created_by, struct image_layer *ret, struct hoist_error **err);

/* "user[:group]" (--chown, USER) as the owner of what a step creates:
 * numbers, or names from the stage's /etc/passwd and /etc/group (the root
 * filesystem is unpacked for them); no group means the user's primary one,
 * or the uid itself when the image does not know the user.  WHAT names the
 * spec in messages ("--chown"). */
int build_parse_owner(struct build *b, struct stage *s, const char *spec, const char *what,
                      struct layer_owner *owner, struct hoist_error **err);

/* Splits DIR (absolute) into what the stage's image has as a directory
 * (*ret_have, links resolved, "" for the root) and what is missing below it
 * (*ret_rest, "" when nothing is); HOIST_ERR_INPUT when something on the
 * way is there but is not a directory. */
int build_missing_dirs(struct build *b, struct stage *s, const char *dir, char **ret_have,
                       char **ret_rest, struct hoist_error **err);
/* Adds HAVE/REST and every directory between them to W, with OWNER. */
int build_write_dirs(struct build *b, struct layer_writer *w, const char *have, const char *rest,
                     const struct layer_owner *owner, struct hoist_error **err);

/* COPY and ADD. */
int copy_step(struct stage_ctx *sc, const struct df_instr *in, struct hoist_error **err);

#endif

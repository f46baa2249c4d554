/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_DOCKERFILE_H
#define HOIST_RUNNER_BUILD_DOCKERFILE_H

/*
 * The Dockerfile parser: text in, stages of instructions out.  Pure
 * parsing, as Docker's (BuildKit's) parser does it:
 * - parser directives `# escape=` (\ or `), `# syntax=` and `# check=` on
 *   the first lines only; comments are lines whose first non-blank is '#';
 * - line continuations with the escape character at the end of a line
 *   (trailing blanks allowed); comment lines and blank lines inside a
 *   continuation are dropped; CRLF endings are accepted;
 * - instruction keywords in any case; `--name=value` flags right after the
 *   keyword (only the flags listed below; any other is an error);
 * - exec (JSON array) form versus shell form.
 *
 * Nothing is substituted here: arguments keep their `$VAR`s, quotes and
 * escape characters, because a stage's variables are only known while the
 * builder walks it (the base image's ENV comes with the base).  The builder
 * expands them step by step with dfvars_expand_instr() (dfvars.h).
 *
 * Every error is HOIST_ERR_INPUT and reads
 *   "'Dockerfile' line 7: COPY needs at least two arguments (COPY SRC... DEST)"
 * with the NAME given to dockerfile_parse().
 */

#include <stddef.h>

#include "error.h"

enum df_kind {
        DF_FROM, /* only in stages' own fields, never in instrs */
        DF_RUN,
        DF_CMD,
        DF_ENTRYPOINT,
        DF_COPY,
        DF_ADD,
        DF_ENV,
        DF_ARG,
        DF_WORKDIR,
        DF_USER,
        DF_LABEL,
        DF_EXPOSE,
        DF_SHELL,
        DF_STOPSIGNAL,
        DF_VOLUME,
        DF_MAINTAINER,
        DF_HEALTHCHECK,
};

/* `--name=value` (name without the dashes, lower case; value raw, as
 * written: expand it with dfvars_expand()).  A flag given without '='
 * (`--link`) has value "". */
struct df_flag {
        char *name;
        char *value;
};

/*
 * One instruction.  ARGS by kind, all raw (unexpanded, quotes kept):
 *   RUN, CMD, ENTRYPOINT  json_form: the array's strings (never expanded);
 *                         shell form: one arg, the command text with
 *                         continuations joined (the shell expands it).
 *                         CMD/ENTRYPOINT may be `[]` (n_args 0).
 *                         RUN heredocs: `RUN <<EOF` alone gives the body
 *                         as the command (`<<-` strips leading tabs);
 *                         `RUN cmd <<EOF ...` gives the line, a newline and
 *                         the bodies with their delimiter lines, for the
 *                         shell to read as here-documents.  Either way the
 *                         builder runs args[0] with the SHELL as usual.
 *   SHELL                 always json_form, at least one string.
 *   COPY, ADD             SRC... DEST (n_args >= 2); json form or words
 *                         split at blanks (Docker: use the JSON form for
 *                         paths with spaces).
 *   ENV, LABEL            pairs: args[2i] key, args[2i+1] value
 *                         (`k=v k2="v 2"`, or the legacy `ENV k v w` as
 *                         key "k", value "v w").
 *   ARG                   words "NAME" or "NAME=default" (several allowed).
 *   EXPOSE                words ("80", "53/udp", "$PORT").
 *   VOLUME                json form strings or words.
 *   WORKDIR, USER, STOPSIGNAL, MAINTAINER
 *                         one arg: the rest of the line.
 *   HEALTHCHECK           args[0] "NONE" (n_args 1), or "CMD" followed by
 *                         the command as for CMD (json_form tells which).
 *                         OCI image configs have no healthcheck: the
 *                         builder ignores it with a warning, as buildah.
 * Flags accepted (any other is a parse error naming it):
 *   COPY --from --chown --chmod --link; ADD --chown --chmod --link;
 *   HEALTHCHECK --interval --timeout --start-period --start-interval --retries.
 * ONBUILD, heredocs outside RUN (`COPY <<EOF`), `RUN <<EOF` bodies with
 * a #! line, and RUN --mount/--network/--security are refused at parse
 * time with an error that says so.
 */
struct df_instr {
        enum df_kind kind;
        int line; /* 1-based line of the keyword */
        char **args;
        size_t n_args; /* args is also NULL-terminated */
        int json_form;
        struct df_flag *flags;
        size_t n_flags;
        char *original; /* "COPY --from=build /out /app": keyword, flags and
                           arguments as written, continuations joined,
                           trimmed; for messages and history */
};

/* `FROM [--platform=P] BASE [AS NAME]` and the instructions up to the next
 * FROM.  BASE and PLATFORM are raw: expand them with the global scope
 * (dfvars_new() after dfvars_apply() of every meta_args entry).  BASE may
 * then be "scratch", an earlier stage's name or index
 * (dockerfile_stage_index()), or an image reference. */
struct df_stage {
        char *base;
        char *name;     /* lower-cased `AS` name, or NULL */
        char *platform; /* raw --platform value, or NULL */
        int line;
        char *original; /* the FROM line as written */
        struct df_instr *instrs;
        size_t n_instrs;
};

struct dockerfile {
        char *name;                 /* as given to dockerfile_parse(), for messages */
        char escape;                /* '\\' or '`' */
        char *syntax;               /* the `# syntax=` directive, or NULL (not acted on) */
        struct df_instr *meta_args; /* ARGs before the first FROM (kind DF_ARG) */
        size_t n_meta_args;
        struct df_stage *stages; /* at least one */
        size_t n_stages;
};

/* Parses LEN bytes of TEXT (need not be NUL-terminated; NUL bytes are an
 * error).  NAME names the file in messages ("Dockerfile", "build/Dockerfile").
 * A Dockerfile without FROM, or an instruction other than ARG before the
 * first FROM, is an error. */
int dockerfile_parse(const char *text, size_t len, const char *name, struct dockerfile **ret,
                     struct hoist_error **err);

/* Reads PATH and parses it, naming it PATH in messages. */
int dockerfile_parse_file(const char *path, struct dockerfile **ret, struct hoist_error **err);

void dockerfile_free(struct dockerfile *df);
static inline void dockerfile_freep(struct dockerfile **df)
{
        dockerfile_free(*df);
}
#define _cleanup_dockerfile_ __attribute__((cleanup(dockerfile_freep)))

/* The index of the stage REF names: a stage name (case-insensitive) or a
 * decimal index.  Only stages before BEFORE count, as a stage may refer
 * only to earlier ones (pass df->n_stages for --target).  -1 when none. */
int dockerfile_stage_index(const struct dockerfile *df, const char *ref, size_t before);

/* The raw value of flag NAME ("from") of IN, or NULL when not given. */
const char *dockerfile_flag(const struct df_instr *in, const char *name);

/* "RUN", "COPY", ... */
const char *dockerfile_kind_name(enum df_kind kind);

#endif

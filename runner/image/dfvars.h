/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_DFVARS_H
#define HOIST_RUNNER_BUILD_DFVARS_H

/*
 * ARG and ENV scopes and variable substitution, as Docker does them:
 *
 * - The global scope (dfvars_new()) holds the --build-arg values and the
 *   ARGs before the first FROM; those are usable in FROM lines only.
 *   TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM,
 *   BUILDOS, BUILDARCH and BUILDVARIANT are predefined in it.
 * - A stage scope (dfvars_new_stage()) starts with the base image's ENV and
 *   no ARGs.  A global ARG must be re-declared (`ARG NAME`, no default) to
 *   be used in the stage, and then has its global value.  A stage ARG is in
 *   scope from its declaration to the end of the stage; its value is the
 *   --build-arg value, else its default (itself substituted), else unset.
 * - ENV always overrides an ARG of the same name.
 * - HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY (and lower
 *   case) given as --build-arg are in scope in every stage without a
 *   declaration, and are kept out of the image (dfvars_env() leaves them
 *   out; only dfvars_env_for_run() has them).
 *
 * Substitution (dfvars_expand(): Docker's shell-lexer "ProcessWord"):
 * $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word},
 * ${VAR:?msg}, ${VAR?msg}; single quotes are literal, double quotes group;
 * the escape character escapes the next character (so `\$X` is "$X");
 * quotes and escape characters are removed.  An unset variable expands to
 * "".  Substitution applies to ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL
 * USER VOLUME WORKDIR (and ARG defaults, and flag values), never to
 * RUN/CMD/ENTRYPOINT/SHELL, where the shell does it.
 *
 * A scope is not thread-safe.  The global scope must outlive its stage
 * scopes.
 */

#include <stddef.h>

#include "runner/image/dockerfile.h"
#include "error.h"

struct dfvars;

/* The global scope.  BUILD_ARGS: NULL-terminated "K=V", or "K" for the
 * value of K in hoist's environment (ignored when unset there), as
 * `docker build --build-arg`.  ESCAPE: the Dockerfile's escape character
 * (df->escape).  PLATFORM: "os/arch[/variant]" for the TARGET* args, NULL
 * for the host's.  Fails on a malformed build arg ("=V"). */
int dfvars_new(char *const *build_args, char escape, const char *platform, struct dfvars **ret,
               struct hoist_error **err);

/* A scope for one stage whose base image has ENV BASE_ENV (NULL-terminated
 * "K=V" from the image config; NULL for scratch). */
struct dfvars *dfvars_new_stage(struct dfvars *global, char *const *base_env);

void dfvars_free(struct dfvars *v);
static inline void dfvars_freep(struct dfvars **v)
{
        dfvars_free(*v);
}
#define _cleanup_dfvars_ __attribute__((cleanup(dfvars_freep)))

/* Substitutes WORD (see above) in scope V.  Errors (HOIST_ERR_INPUT): an
 * unterminated quote, a bad ${...}, ${X:?msg} with X unset. */
int dfvars_expand(struct dfvars *v, const char *word, char **ret, struct hoist_error **err);

/* Applies an ARG or ENV instruction to V: declares the ARGs (expanding
 * their defaults) or sets the ENV pairs (expanding keys and values).  As in
 * Docker, every value of one ENV line sees the scope as it was before the
 * line: `ENV abc=bye def=$abc` sets def to the old abc.  Other kinds are an
 * error.  Messages are prefixed "'NAME' line N: ". */
int dfvars_apply(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                 struct hoist_error **err);

/* IN's arguments as the builder uses them: substituted for the kinds that
 * Docker substitutes (each arg separately; ENV/LABEL keys and values
 * alike), copied as they are for RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK.
 * *ret is NULL-terminated with IN->n_args strings.  Messages are prefixed
 * "'NAME' line N: ". */
int dfvars_expand_instr(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                        char ***ret, struct hoist_error **err);

/* The substituted value of IN's flag NAME, or *ret NULL when not given. */
int dfvars_expand_flag(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                       const char *name, char **ret, struct hoist_error **err);

/* The value of NAME as substitution sees it (ENV first, then ARGs in
 * scope), or NULL when unset.  Owned by V, valid until V changes. */
const char *dfvars_get(const struct dfvars *v, const char *name);

/* The ENV of the image being built, in order ("K=V", NULL-terminated,
 * caller frees with strv_free()): the base's, then the stage's ENVs. */
char **dfvars_env(const struct dfvars *v);

/* The environment a RUN sees: dfvars_env() plus the ARGs in scope that
 * have a value and no ENV of the same name, in declaration order. */
char **dfvars_env_for_run(const struct dfvars *v);

/* The ARGs in scope with a value, "K=V" in declaration order (for the
 * build cache key of RUN, like Docker's "|N K=V" prefix). */
char **dfvars_args(const struct dfvars *v);

/* The --build-arg names no ARG in any scope made from GLOBAL declared (and
 * no predefined one): Docker warns "one or more build-args were not
 * consumed".  NULL-terminated, possibly empty. */
char **dfvars_unused_build_args(const struct dfvars *global);

/* Splits ENV/LABEL style TEXT (`k=v k2="v 2"` or legacy `k v w`) into
 * raw key/value pairs as dockerfile_parse() stores them; LEGACY_OK 0 for
 * LABEL (which has no legacy form).  *ret is NULL-terminated, *ret_n is
 * the number of strings (twice the pairs).  Used by the parser; exposed
 * for tests. */
/* Splits TEXT into words at blanks outside quotes, keeping quotes and
 * escape characters in the words (Docker's parser "parseWords", used for
 * ENV, LABEL and ARG).  *ret is NULL-terminated with *ret_n words. */
void dfvars_split_words(const char *text, char escape, char ***ret, size_t *ret_n);

int dfvars_split_pairs(const char *text, char escape, int legacy_ok, char ***ret, size_t *ret_n,
                       struct hoist_error **err);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The Dockerfile parser and the substitution the builder runs over it: any
 * bytes must give a Dockerfile or an error, never a crash or a leak.  A
 * parsed Dockerfile must hold its invariants (at least one stage, lines in
 * order, NULL-terminated args of the stated count, only ARG before FROM),
 * and walking every stage as the builder does must give expansions or
 * errors with file:line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/image/dfvars.h"
#include "runner/image/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_instr(const struct df_instr *in, int *last_line)
{
        if (in->line < *last_line || in->line < 1 || in->args == NULL ||
            in->args[in->n_args] != NULL || in->original == NULL)
                abort();
        *last_line = in->line;
        for (size_t i = 0; i < in->n_args; i++)
                if (in->args[i] == NULL)
                        abort();
        for (size_t i = 0; i < in->n_flags; i++)
                if (dockerfile_flag(in, in->flags[i].name) == NULL)
                        abort();
        if ((in->kind == DF_ENV || in->kind == DF_LABEL) && (in->n_args == 0 || in->n_args % 2))
                abort();
        if ((in->kind == DF_COPY || in->kind == DF_ADD) && in->n_args < 2)
                abort();
        if (in->kind == DF_SHELL && (!in->json_form || in->n_args == 0))
                abort();
        if (in->kind == DF_FROM || strcmp(dockerfile_kind_name(in->kind), "?") == 0)
                abort();
}

/* Expands what the builder would, checking every error names the line. */
static void walk(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in)
{
        struct hoist_error *err = NULL;
        char **args = NULL;
        char *flag = NULL;
        char prefix[64];

        snprintf(prefix, sizeof prefix, "'%s' line %d: ", df->name, in->line);
        if (in->kind == DF_ARG || in->kind == DF_ENV) {
                if (dfvars_apply(v, df, in, &err) < 0) {
                        if (err == NULL || strncmp(err->msg, prefix, strlen(prefix)) != 0)
                                abort();
                        hoist_error_release(&err);
                }
        }
        if (dfvars_expand_instr(v, df, in, &args, &err) < 0) {
                if (err == NULL || args != NULL || strncmp(err->msg, prefix, strlen(prefix)) != 0)
                        abort();
                hoist_error_release(&err);
        } else {
                for (size_t i = 0; i < in->n_args; i++)
                        if (args[i] == NULL)
                                abort();
                if (args[in->n_args] != NULL)
                        abort();
                strv_free(args);
        }
        for (size_t i = 0; i < in->n_flags; i++) {
                if (dfvars_expand_flag(v, df, in, in->flags[i].name, &flag, &err) < 0) {
                        if (err == NULL)
                                abort();
                        hoist_error_release(&err);
                        continue;
                }
                if (flag == NULL)
                        abort();
                free(flag);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dockerfile *df = NULL;
        struct hoist_error *err = NULL;
        struct dfvars *g = NULL;
        char *bargs[] = {(char *)"A=1", (char *)"HTTP_PROXY=http://p", NULL};
        int last = 0;

        if (dockerfile_parse((const char *)data, size, "Dockerfile", &df, &err) < 0) {
                if (err == NULL || df != NULL || err->msg == NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        if (df->n_stages == 0 || (df->escape != '\\' && df->escape != '`'))
                abort();
        for (size_t i = 0; i < df->n_meta_args; i++) {
                if (df->meta_args[i].kind != DF_ARG)
                        abort();
                check_instr(&df->meta_args[i], &last);
        }
        for (size_t s = 0; s < df->n_stages; s++) {
                const struct df_stage *st = &df->stages[s];
                if (st->base == NULL || st->line < last)
                        abort();
                last = st->line;
                if (st->name != NULL && dockerfile_stage_index(df, st->name, s + 1) != (int)s)
                        abort();
                for (size_t i = 0; i < st->n_instrs; i++)
                        check_instr(&st->instrs[i], &last);
        }

        if (dfvars_new(bargs, df->escape, NULL, &g, &err) < 0)
                abort();
        for (size_t i = 0; i < df->n_meta_args; i++)
                walk(g, df, &df->meta_args[i]);
        for (size_t s = 0; s < df->n_stages; s++) {
                const struct df_stage *st = &df->stages[s];
                char *base = NULL;
                char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};

                if (dfvars_expand(g, st->base, &base, &err) < 0)
                        hoist_error_release(&err);
                free(base);
                struct dfvars *v = dfvars_new_stage(g, env);
                for (size_t i = 0; i < st->n_instrs; i++)
                        walk(v, df, &st->instrs[i]);
                char **e = dfvars_env_for_run(v);
                if (e == NULL || e[0] == NULL) /* PATH, perhaps replaced */
                        abort();
                strv_free(e);
                strv_free(dfvars_args(v));
                dfvars_free(v);
        }
        strv_free(dfvars_unused_build_args(g));
        dfvars_free(g);
        dockerfile_free(df);
        return 0;
}

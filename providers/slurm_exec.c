/* SPDX-License-Identifier: MIT */
#include "slurm_exec.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "proc.h"
#include "slurm_script.h"
#include "xalloc.h"

static void add(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

char **slurm_ssh_argv(const char *host)
{
        const char *cfg = getenv("HOIST_SSH_CONFIG");
        const char *at = strchr(host, '@');
        const char *h = at != NULL ? at + 1 : host;
        const char *colon = strrchr(h, ':');
        char **v = NULL;
        size_t n = 0;

        add(&v, &n, xstrdup("ssh"));
        if (cfg != NULL && *cfg != '\0') {
                add(&v, &n, xstrdup("-F"));
                add(&v, &n, xstrdup(cfg));
        }
        add(&v, &n, xstrdup("-o"));
        add(&v, &n, xstrdup("BatchMode=yes"));
        add(&v, &n, xstrdup("-o"));
        add(&v, &n, xstrdup("ConnectTimeout=20"));
        if (colon != NULL) {
                add(&v, &n, xstrdup("-p"));
                add(&v, &n, xstrdup(colon + 1));
        }
        add(&v, &n, xstrdup("--"));
        add(&v, &n, colon != NULL ? xstrndup(host, (size_t)(colon - host)) : xstrdup(host));
        return v;
}

static int remote(const struct slurm_settings *s)
{
        return s != NULL && s->host != NULL && *s->host != '\0';
}

/* ARGV as one shell command line; with ALWAYS 0, only words that need it
 * are quoted (for a line shown to the user). */
static char *shell_line(char *const argv[], int always)
{
        static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789-_=./:@,+%";
        struct buf b = {0};

        for (size_t i = 0; argv[i] != NULL; i++) {
                const char *w = argv[i];
                _cleanup_free_ char *q = always || *w == '\0' || w[strspn(w, plain)] != '\0'
                                                 ? slurm_shell_quote(w)
                                                 : xstrdup(w);
                buf_printf(&b, "%s%s", i ? " " : "", q);
        }
        return buf_take(&b);
}

/* ARGV as one remote shell command line. */
static char *remote_line(char *const argv[])
{
        return shell_line(argv, 1);
}

int slurm_exec(const struct slurm_settings *s, char *const argv[], const char *in, size_t in_len,
               struct buf *out, struct buf *errb, int *ret_status, struct hoist_error **err)
{
        _cleanup_strv_ char **v = NULL;
        size_t n = 0;

        if (!remote(s))
                return proc_run_input(argv, in, in_len, out, errb, ret_status, err);
        v = slurm_ssh_argv(s->host);
        while (v[n] != NULL)
                n++;
        add(&v, &n, remote_line(argv));
        if (proc_run_input(v, in, in_len, out, errb, ret_status, err) < 0)
                return hoist_error_wrap(err, "ssh to '%s'", s->host);
        return 0;
}

int slurm_exec_sh(const struct slurm_settings *s, const char *script, char *const args[],
                  const char *in, size_t in_len, struct buf *out, struct buf *errb, int *ret_status,
                  struct hoist_error **err)
{
        _cleanup_strv_ char **v = NULL;
        size_t n = 0;

        add(&v, &n, xstrdup("sh"));
        add(&v, &n, xstrdup("-c"));
        add(&v, &n, xstrdup(script));
        add(&v, &n, xstrdup("sh"));
        for (size_t i = 0; args != NULL && args[i] != NULL; i++)
                add(&v, &n, xstrdup(args[i]));
        return slurm_exec(s, v, in, in_len, out, errb, ret_status, err);
}

char *slurm_exec_last_line(const struct buf *errb)
{
        const char *text = errb->data != NULL ? errb->data : "";
        size_t end = errb->len;
        const char *start, *p;

        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
                end--;
        if (end == 0)
                return xstrdup("no output");
        start = text + end;
        while (start > text && start[-1] != '\n')
                start--;
        /* "sbatch: error: Batch job submission failed: ..." */
        if ((p = strstr(start, ": error: ")) != NULL && p < text + end)
                start = p + 9;
        return xstrndup(start, (size_t)(text + end - start));
}

int slurm_exec_ok(const struct slurm_settings *s, char *const argv[], struct buf *out,
                  struct hoist_error **err)
{
        _cleanup_buf_ struct buf errb = {0};
        int status = 0;

        if (slurm_exec(s, argv, NULL, 0, out, &errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                _cleanup_free_ char *why = slurm_exec_last_line(&errb);
                if (remote(s) && status == 255) {
                        _cleanup_strv_ char **ssh = slurm_ssh_argv(s->host);
                        _cleanup_free_ char *try = shell_line(ssh, 0);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "ssh to '%s' failed: %s (check slurm.host, and "
                                                "that this works: %s true)",
                                                s->host, why, try);
                }
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "'%s' failed (exit %d): %s",
                                        argv[0], status, why);
        }
        return 0;
}

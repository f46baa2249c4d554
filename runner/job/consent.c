/* SPDX-License-Identifier: MIT */
#include "runner/job/consent.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "runner/control/localserve.h"
#include "xalloc.h"

static enum consent_mode mode_of(const char *s)
{
        if (strcmp(s, "allow") == 0)
                return CONSENT_ALLOW;
        if (strcmp(s, "never") == 0)
                return CONSENT_NEVER;
        return CONSENT_ASK;
}

void consent_resolve(const struct jobfile *jf, const struct homeconfig *hc,
                     struct consent_setting *ret)
{
        if (jf->consent != NULL) {
                ret->mode = mode_of(jf->consent);
                ret->origin = xasprintf("'%s':%d", jf->path, jf->consent_line);
        } else if (hc != NULL && hc->consent != NULL) {
                ret->mode = mode_of(hc->consent);
                ret->origin = xasprintf("'%s':%d", hc->path, hc->consent_line);
        } else {
                ret->mode = CONSENT_ASK;
                ret->origin = xstrdup("the default");
        }
}

void consent_setting_clear(struct consent_setting *s)
{
        free(s->origin);
        s->origin = NULL;
}

const char *consent_mode_name(enum consent_mode mode)
{
        switch (mode) {
        case CONSENT_ALLOW:
                return "allow";
        case CONSENT_NEVER:
                return "never";
        case CONSENT_ASK:
                break;
        }
        return "ask";
}

bool consent_storage_leaves(const char *storage_url)
{
        return strncmp(storage_url, "file://", 7) != 0 && strcmp(storage_url, LOCALSERVE_URL) != 0;
}

bool consent_needed(const char *storage_url, const struct provider_ops *prov)
{
        return consent_storage_leaves(storage_url) || (prov != NULL && prov->remote);
}

/* Reads one answer line: true for y or yes (any case). */
static bool answer_yes(FILE *in)
{
        char line[64];
        char *p;

        if (fgets(line, sizeof line, in) == NULL)
                return false;
        for (p = line; *p == ' ' || *p == '\t'; p++)
                ;
        p[strcspn(p, " \t\r\n")] = '\0';
        return strcasecmp(p, "y") == 0 || strcasecmp(p, "yes") == 0;
}

int consent_decide(const struct consent_setting *s, const char *dest, bool yes, bool tty, FILE *in,
                   FILE *out, struct hoist_error **err)
{
        const char *o = s->origin ? s->origin : "the default";
        _cleanup_free_ char *origin =
                strcmp(o, "the default") == 0 ? xstrdup(o) : xasprintf("set in %s", o);

        switch (s->mode) {
        case CONSENT_ALLOW:
                return 0;
        case CONSENT_NEVER:
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "consent is 'never' (%s): the job's files would "
                                        "leave this machine for %s; nothing was uploaded (use "
                                        "file:// storage, or set consent: ask or allow)",
                                        origin, dest);
        case CONSENT_ASK:
                break;
        }
        if (yes)
                return 0;
        if (!tty)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "consent is 'ask' (%s) and there is no terminal to ask "
                                        "on: the job's files would leave this machine for %s; "
                                        "nothing was uploaded (agree with 'hoist submit --yes', "
                                        "or set consent: allow in job.yaml or "
                                        "$HOIST_HOME/config.yaml)",
                                        origin, dest);
        fprintf(out, "Upload the files above to %s? [y/N] ", dest);
        fflush(out);
        if (answer_yes(in))
                return 0;
        return hoist_error_make(err, HOIST_ERR_STATE,
                                "upload to %s declined (consent 'ask', %s); nothing was uploaded",
                                dest, origin);
}

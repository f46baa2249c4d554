/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_CONSENT_H
#define HOIST_RUNNER_CONSENT_H

/*
 * Whether a job's files may leave this machine (docs/job.md "consent").
 * `consent: ask | allow | never` comes from job.yaml, else
 * $HOIST_HOME/config.yaml, else the default, ask.  Storage on this machine
 * (file://, the built-in endpoint hoist starts on loopback) needs none; any
 * other storage URL counts as leaving whatever its endpoint's address, and so
 * does a provider that runs jobs elsewhere.
 */

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "runner/cli/homeconfig.h"
#include "runner/job/jobfile.h"
#include "providers/provider.h"

enum consent_mode { CONSENT_ASK, CONSENT_ALLOW, CONSENT_NEVER };

struct consent_setting {
        enum consent_mode mode;
        char *origin; /* where it was set, for messages: "'job.yaml':4", "the default" */
};

/* The setting that applies to JF: job.yaml's, else HC's, else ask. */
void consent_resolve(const struct jobfile *jf, const struct homeconfig *hc,
                     struct consent_setting *ret);
void consent_setting_clear(struct consent_setting *s);

const char *consent_mode_name(enum consent_mode mode);

/* True when storage STORAGE_URL is not this machine's. */
bool consent_storage_leaves(const char *storage_url);
/* True when a job on provider PROV with storage STORAGE_URL sends bytes
 * off this machine. */
bool consent_needed(const char *storage_url, const struct provider_ops *prov);

/* Decides, for uploads to DEST (a description: "provider 'local', storage
 * s3://b/p"): 0 to go on, -1 refused (with *ERR naming the setting and
 * where it comes from).  ask asks on IN/OUT when both are terminals
 * (TTY true), else needs YES. */
int consent_decide(const struct consent_setting *s, const char *dest, bool yes, bool tty, FILE *in,
                   FILE *out, struct hoist_error **err);

#endif

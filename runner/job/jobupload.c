/* SPDX-License-Identifier: MIT */
#include "runner/job/jobupload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/job/consent.h"
#include "runner/cli/homeconfig.h"
#include "runner/control/localserve.h"
#include "fsutil.h"
#include "log.h"
#include "runner/job/jobstorage.h"
#include "runner/job/package.h"
#include "xalloc.h"

/* Where the job's bytes go, for the summary and the consent messages. */
static char *destination(const struct provider_ops *prov, const char *url,
                         const struct storage *sto)
{
        struct storage_location loc;
        const char *where = prov->remote ? "runs elsewhere" : "runs on this machine";

        storage_locate(sto, &loc);
        if (strcmp(url, LOCALSERVE_URL) == 0)
                return xasprintf("provider '%s' (%s), storage %s (hoist's built-in endpoint on "
                                 "this machine, %s)",
                                 prov->name, where, url, loc.endpoint);
        if (!consent_storage_leaves(url))
                return xasprintf("provider '%s' (%s), storage %s (this machine)", prov->name, where,
                                 url);
        return xasprintf("provider '%s' (%s), storage %s (endpoint %s)", prov->name, where, url,
                         loc.endpoint ? loc.endpoint : "from the AWS settings");
}

static int decide(const struct hoist_home *home, const struct jobfile *jf, const char *dest,
                  const struct jobupload_options *opts, struct hoist_error **err)
{
        _cleanup_homeconfig_ struct homeconfig *hc = NULL;
        struct consent_setting cs = {0};
        bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
        int r;

        if (homeconfig_load(home, &hc, err) < 0)
                return -1;
        consent_resolve(jf, hc, &cs);
        r = consent_decide(&cs, dest, opts->yes, tty, stdin, stderr, err);
        consent_setting_clear(&cs);
        return r;
}

int jobupload_consent_push(const struct hoist_home *home, const struct jobfile *jf,
                           const struct jobupload_options *opts, struct hoist_error **err)
{
        _cleanup_free_ char *dest = NULL;

        if (jf->build == NULL || jf->build->push == NULL)
                return 0;
        _cleanup_free_ char *context = xstrdup(jf->build->context);
        size_t len = strlen(context);

        /* "context: ." is kept as DIR/. */
        while (len > 2 && strcmp(context + len - 2, "/.") == 0)
                context[len -= 2] = '\0';
        dest = xasprintf("registry '%s' (build.push)", jf->build->push);
        if (!opts->quiet || (!opts->yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)))
                fprintf(stderr, "build: the image built from '%s' goes to %s\n", context, dest);
        return decide(home, jf, dest, opts, err);
}

struct opener {
        const struct hoist_home *home;
        const char *url;
};

/* Each upload thread gets its own handle: a storage client is not shared
 * between threads. */
static int open_another(void *ud, struct storage **ret, struct hoist_error **err)
{
        const struct opener *o = ud;
        return jobstorage_open(o->home, o->url, ret, err);
}

/* HOIST_TREE=0 keeps the old path, one tar per directory (for bench/sync's
 * comparison); unset or anything else sends trees. */
#define JOBUPLOAD_TREE_DEFAULT 1
static int tree_mode(void)
{
        const char *v = getenv("HOIST_TREE");
        if (v == NULL || *v == '\0')
                return JOBUPLOAD_TREE_DEFAULT;
        return strcmp(v, "0") != 0;
}

int jobupload_run(const struct hoist_home *home, const struct jobfile *jf,
                  const struct provider_ops *prov, struct storage *sto,
                  const struct jobupload_options *opts, struct jobspec *spec,
                  struct hoist_error **err)
{
        _cleanup_package_plan_ struct package_plan *plan = NULL;
        _cleanup_free_ char *dest = destination(prov, opts->storage_url, sto);
        bool leaves = consent_needed(opts->storage_url, prov);
        struct package_stats stats = {0};
        struct opener opener = {.home = home, .url = opts->storage_url};
        _cleanup_free_ char *cache_dir = path_join(home->dir, "cache/tree");
        struct package_options popts = {.tmp_dir = home->tmp_dir,
                                        .cache_dir = cache_dir,
                                        .rehash = opts->rehash,
                                        .tree = tree_mode(),
                                        .open_storage = open_another,
                                        .open_ud = &opener};
        char b1[32], b2[32], b3[32], b4[32], b5[32];
        _cleanup_error_ struct hoist_error *cache_err = NULL;

        if (fs_mkdir_p(cache_dir, 0700, &cache_err) < 0) {
                log_warn("stat cache '%s': %s; every file is read, ignoring", cache_dir,
                         cache_err->msg);
                popts.cache_dir = NULL;
        }
        if (package_plan(jf, sto, &popts, &plan, err) < 0)
                return -1;
        /* Whoever is asked sees what they agree to, -q or not. */
        if ((!opts->quiet && (plan->n_items > 0 || leaves)) ||
            (leaves && !opts->yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)))
                package_print_summary(plan, dest, stderr);
        if (package_check_limit(plan, prov->name, prov->upload_limit, err) < 0)
                return -1;
        if (leaves && decide(home, jf, dest, opts, err) < 0)
                return -1;
        if (package_upload(plan, sto, spec, &stats, err) < 0)
                return -1;
        if (!opts->quiet && plan->n_items > 0) {
                char b6[32], b7[32];
                log_info("%s: %zu uploaded (%s), %zu unchanged (%s, 0 bytes sent); files %zu "
                         "new (%s), %zu changed (%s), %zu unchanged (%s); %s sent",
                         jf->code != NULL ? "code and inputs" : "inputs", stats.blobs_uploaded,
                         cli_format_bytes(stats.bytes_uploaded, b6, sizeof b6),
                         stats.blobs_unchanged,
                         cli_format_bytes(stats.bytes_unchanged, b7, sizeof b7), stats.files_new,
                         cli_format_bytes(stats.bytes_new, b1, sizeof b1), stats.files_changed,
                         cli_format_bytes(stats.bytes_changed, b2, sizeof b2),
                         stats.files_unchanged,
                         cli_format_bytes(stats.bytes_unchanged_files, b3, sizeof b3),
                         cli_format_bytes(stats.bytes_sent, b4, sizeof b4));
        }
        log_debug("inputs: %zu files read to hash them (%s)", stats.files_hashed,
                  cli_format_bytes(stats.bytes_hashed, b5, sizeof b5));
        if (opts->ret_stats != NULL)
                *opts->ret_stats = stats;
        return 0;
}

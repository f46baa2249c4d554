/* SPDX-License-Identifier: MIT */
#include "runner/control/gc.h"

#include <ctype.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "fsutil.h"
#include "runner/job/jobrm.h"
#include "runner/job/jobstorage.h"
#include "runner/control/localserve.h"
#include "log.h"
#include "tree.h"
#include "proc.h"
#include "runner/control/reconcile.h"
#include "xalloc.h"

#define BLOB_PREFIX "blobs/sha256/"
#define BLOB_HEX_LEN 64

static void strv_add(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

/* The blob key S names, or NULL. */
static char *blob_key_of(const char *s)
{
        size_t len = strlen(s), want = strlen(BLOB_PREFIX) + BLOB_HEX_LEN;
        const char *k;

        if (len < want)
                return NULL;
        k = s + len - want;
        if (strncmp(k, BLOB_PREFIX, strlen(BLOB_PREFIX)) != 0 || (k > s && k[-1] != '/'))
                return NULL;
        for (const char *h = k + strlen(BLOB_PREFIX); *h; h++)
                if (!isxdigit((unsigned char)*h) || isupper((unsigned char)*h))
                        return NULL;
        return xstrdup(k);
}

static void collect_refs(json_t *v, char ***refs, size_t *n, int depth)
{
        const char *name;
        json_t *child;
        size_t i;

        if (depth > 64)
                return;
        if (json_is_string(v)) {
                char *key = blob_key_of(json_string_value(v));
                if (key != NULL)
                        strv_add(refs, n, key);
        } else if (json_is_object(v)) {
                json_object_foreach(v, name, child)
                {
                        collect_refs(child, refs, n, depth + 1);
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, child)
                {
                        collect_refs(child, refs, n, depth + 1);
                }
        }
}

int gc_blob_refs(const char *json, size_t len, const char *name, char ***refs, size_t *n,
                 struct hoist_error **err)
{
        json_error_t je;
        json_auto_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d:%d: %s", name, je.line,
                                        je.column, je.text);
        if (!json_is_object(root))
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': not a JSON object", name);
        collect_refs(root, refs, n, 0);
        return 0;
}

int gc_tree_refs(const char *manifest, size_t len, const char *name, char ***refs, size_t *n,
                 struct hoist_error **err)
{
        _cleanup_tree_manifest_ struct tree_manifest *m = NULL;
        json_auto_t *packed = json_object();

        if (tree_manifest_parse(manifest, len, &m, err) < 0)
                return hoist_error_wrap(err, "'%s'", name);
        for (size_t i = 0; i < m->n_packs; i++) {
                strv_add(refs, n, tree_blob_key(m->packs[i].sha256));
                for (size_t j = 0; j < m->packs[i].n_files; j++)
                        (void)json_object_set_new(packed, m->packs[i].files[j].sha256, json_true());
        }
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].type == TREE_ENTRY_FILE &&
                    json_object_get(packed, m->entries[i].sha256) == NULL)
                        strv_add(refs, n, tree_blob_key(m->entries[i].sha256));
        return 0;
}

/* The manifests job.json JSON names: inputs and code in mode "tree". */
static void tree_sources(const char *json, size_t len, char ***ret, size_t *n)
{
        json_auto_t *root = json_loadb(json, len, 0, NULL);
        json_t *in, *code;
        size_t i;

        if (root == NULL)
                return;
        json_array_foreach(json_object_get(root, "inputs"), i, in)
        {
                const char *mode = json_string_value(json_object_get(in, "mode"));
                const char *src = json_string_value(json_object_get(in, "source"));
                char *key = src && mode && strcmp(mode, "tree") == 0 ? blob_key_of(src) : NULL;
                if (key != NULL)
                        strv_add(ret, n, key);
        }
        code = json_object_get(root, "code");
        const char *mode = json_string_value(json_object_get(code, "mode"));
        const char *src = json_string_value(json_object_get(code, "source"));
        char *key = src && mode && strcmp(mode, "tree") == 0 ? blob_key_of(src) : NULL;
        if (key != NULL)
                strv_add(ret, n, key);
}

/* Adds what the tree manifests job.json JSON names hold: their packs and
 * file blobs.  SEEN skips a manifest two jobs share. */
static int add_tree_refs(struct storage *sto, const char *json, size_t len, json_t *seen,
                         char ***refs, size_t *n, struct hoist_error **err)
{
        _cleanup_strv_ char **manifests = xcalloc(1, sizeof *manifests);
        size_t n_manifests = 0;

        tree_sources(json, len, &manifests, &n_manifests);
        for (size_t i = 0; i < n_manifests; i++) {
                _cleanup_free_ char *bytes = NULL;
                size_t blen = 0;
                if (json_object_get(seen, manifests[i]) != NULL)
                        continue;
                (void)json_object_set_new(seen, manifests[i], json_true());
                if (storage_get_bytes(sto, manifests[i], &bytes, &blen, err) < 0 ||
                    gc_tree_refs(bytes, blen, manifests[i], refs, n, err) < 0)
                        return -1;
        }
        return 0;
}

struct gc_run {
        const struct hoist_home *home;
        struct store *st;
        const struct gc_options *o;
        struct gc_stats *stats;
        struct jobrm_storages storages;
        char **urls; /* every storage to sweep */
        size_t n_urls;
        int64_t now_s;
};

static void say(const struct gc_run *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct gc_run *g, const char *fmt, ...)
{
        va_list ap;

        if (g->o->out == NULL)
                return;
        fputs(g->o->dry_run ? "would remove " : "removed ", g->o->out);
        va_start(ap, fmt);
        vfprintf(g->o->out, fmt, ap);
        va_end(ap);
        fputc('\n', g->o->out);
}

static void add_url(struct gc_run *g, const char *url)
{
        if (url == NULL || *url == '\0')
                return;
        for (size_t i = 0; i < g->n_urls; i++)
                if (strcmp(g->urls[i], url) == 0)
                        return;
        strv_add(&g->urls, &g->n_urls, xstrdup(url));
}

/* Finished jobs that ended before OLDER_THAN_S ago, as hoist rm. */
static int remove_old_jobs(struct gc_run *g, struct job_record **jobs, size_t n)
{
        int64_t cutoff_ms = (g->now_s - g->o->older_than_s) * 1000;
        char b[32];

        for (size_t i = 0; i < n; i++) {
                struct jobrm_stats s = {0};
                struct hoist_error *e = NULL;
                if (!job_state_terminal(jobs[i]->state) || jobs[i]->updated_at_ms > cutoff_ms)
                        continue;
                if (jobrm_remove(g->home, g->st, &g->storages, jobs[i]->id, g->o->dry_run, &s, &e) <
                    0) {
                        log_warn("%s, skipping it", e->msg);
                        hoist_error_free(e);
                        continue;
                }
                say(g, "job %s (%s, %s; %zu objects, %s)", jobs[i]->id, jobs[i]->name,
                    job_state_name(jobs[i]->state), s.objects,
                    cli_format_bytes(s.bytes, b, sizeof b));
                g->stats->jobs++;
                g->stats->bytes += s.bytes;
        }
        return 0;
}

/* $HOIST_HOME/run/<id>: emptied for a finished job, removed for no job. */
static int sweep_run_dirs(struct gc_run *g)
{
        _cleanup_strv_ char **names = NULL;
        struct hoist_error *e = NULL;
        char b[32];

        names = fs_list_dir(g->home->run_dir, &e);
        if (names == NULL)
                goto warn;
        for (char **n = names; *n != NULL; n++) {
                _cleanup_job_record_ struct job_record *job = NULL;
                _cleanup_free_ char *path = path_join(g->home->run_dir, *n);
                struct jobrm_stats s = {0};
                int r;

                if (store_get_job(g->st, *n, &job, &e) == 0 && strcmp(job->id, *n) == 0) {
                        r = jobrm_clear_run_dir(g->home, g->st, *n, g->o->dry_run, &s, &e);
                } else if (e == NULL || e->code == HOIST_ERR_NOT_FOUND) {
                        /* A killed submit's, before its row: gc.lock says none is running. */
                        hoist_error_release(&e);
                        s.bytes = fs_tree_size(path);
                        r = g->o->dry_run ? 1 : fs_remove_tree(path, &e) < 0 ? -1 : 1;
                } else {
                        r = -1;
                }
                if (r < 0)
                        goto warn;
                if (r == 0)
                        continue;
                say(g, "run/%s (%s)", *n, cli_format_bytes(s.bytes, b, sizeof b));
                g->stats->run_dirs++;
                g->stats->bytes += s.bytes;
        }
        return 0;
warn:
        log_warn("%s, ignoring", e->msg);
        hoist_error_free(e);
        return 0;
}

pid_t gc_tmp_owner(const char *name)
{
        pid_t pid = 0;

        for (const char *p = strchr(name, '-'); p != NULL; p = strchr(p + 1, '-')) {
                char *end;
                long v;
                if (!isdigit((unsigned char)p[1]))
                        continue;
                v = strtol(p + 1, &end, 10);
                if (*end == '.' && v > 0 && v < (1L << 22))
                        pid = (pid_t)v;
        }
        return pid;
}

static int sweep_tmp(struct gc_run *g)
{
        _cleanup_strv_ char **names = NULL;
        struct hoist_error *e = NULL;
        char b[32];

        names = fs_list_dir(g->home->tmp_dir, &e);
        if (names == NULL) {
                log_warn("%s, ignoring", e->msg);
                hoist_error_free(e);
                return 0;
        }
        for (char **n = names; *n != NULL; n++) {
                _cleanup_free_ char *path = path_join(g->home->tmp_dir, *n);
                pid_t pid = gc_tmp_owner(*n);
                struct stat s;
                uint64_t size;

                if (lstat(path, &s) < 0)
                        continue;
                if (pid > 0 ? proc_alive(pid, 0) : g->now_s - s.st_mtime < GC_TMP_MAX_AGE_S)
                        continue;
                size = fs_tree_size(path);
                if (!g->o->dry_run && fs_remove_tree(path, &e) < 0) {
                        log_warn("%s, ignoring", e->msg);
                        hoist_error_release(&e);
                        continue;
                }
                say(g, "tmp/%s (%s)", *n, cli_format_bytes(size, b, sizeof b));
                g->stats->tmp_files++;
                g->stats->bytes += size;
        }
        return 0;
}

static int old_enough(const struct gc_run *g, int64_t t_s)
{
        return t_s > 0 && t_s <= g->now_s - g->o->min_age_s;
}

static int sweep_partials(struct gc_run *g, const char *url, struct storage *sto,
                          struct hoist_error **err)
{
        struct storage_partial *p = NULL;
        size_t n = 0;
        char b[32];

        if (storage_list_partials(sto, &p, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (!old_enough(g, p[i].start_s))
                        continue;
                struct hoist_error *e = NULL;
                /* One that cannot go (an odd key) is no reason to keep the rest. */
                if (!g->o->dry_run && storage_abort_partial(sto, &p[i], &e) < 0) {
                        log_warn("storage '%s': %s, ignoring", url, e->msg);
                        hoist_error_free(e);
                        continue;
                }
                if (p[i].id != NULL)
                        say(g, "unfinished upload of '%s' in '%s'", p[i].key, url);
                else
                        say(g, "unfinished write '%s' in '%s' (%s)", p[i].key, url,
                            cli_format_bytes(p[i].size, b, sizeof b));
                g->stats->partials++;
                g->stats->bytes += p[i].size;
        }
        storage_partials_free(p, n);
        return 0;
}

/* Whether KEY is "jobs/<id>/job.json". */
static int is_job_spec(const char *key)
{
        const char *id = key + strlen("jobs/"), *slash = strchr(id, '/');

        return slash != NULL && slash > id && strcmp(slash, "/job.json") == 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every blob a job.json in STO names, sorted. */
static int live_blobs(struct storage *sto, char ***ret, size_t *ret_n, struct hoist_error **err)
{
        struct storage_entry *e = NULL;
        _cleanup_strv_ char **refs = xcalloc(1, sizeof *refs);
        size_t n = 0, n_refs = 0;
        int r = 0;

        if (storage_list_entries(sto, "jobs", &e, &n, err) < 0)
                return -1;
        json_auto_t *seen = json_object();
        for (size_t i = 0; r == 0 && i < n; i++) {
                _cleanup_free_ char *json = NULL;
                size_t len = 0;
                if (!is_job_spec(e[i].key))
                        continue;
                r = storage_get_bytes(sto, e[i].key, &json, &len, err);
                if (r == 0)
                        r = gc_blob_refs(json, len, e[i].key, &refs, &n_refs, err);
                /* a tree's files and packs are named by its manifest, not job.json */
                if (r == 0)
                        r = add_tree_refs(sto, json, len, seen, &refs, &n_refs, err);
        }
        storage_entries_free(e, n);
        if (r < 0)
                return -1;
        qsort(refs, n_refs, sizeof *refs, cmp_str);
        *ret = TAKE_PTR(refs);
        *ret_n = n_refs;
        return 0;
}

static int sweep_blobs(struct gc_run *g, const char *url, struct storage *sto,
                       struct hoist_error **err)
{
        _cleanup_strv_ char **live = NULL;
        struct storage_entry *e = NULL;
        size_t n_live = 0, n = 0;
        char b[32];
        int r = 0;

        /* Read before the blobs are listed: a blob that comes later is younger than min_age. */
        if (live_blobs(sto, &live, &n_live, err) < 0 ||
            storage_list_entries(sto, "blobs/sha256", &e, &n, err) < 0)
                return hoist_error_wrap(err, "storage '%s': keeping its blobs", url);
        for (size_t i = 0; r == 0 && i < n; i++) {
                const char *key = e[i].key;
                if (bsearch(&key, live, n_live, sizeof *live, cmp_str) != NULL ||
                    !old_enough(g, e[i].mtime_s))
                        continue;
                if (!g->o->dry_run && (r = storage_delete(sto, key, err)) < 0)
                        break;
                say(g, "blob '%s' in '%s' (%s)", key, url,
                    cli_format_bytes(e[i].size, b, sizeof b));
                g->stats->blobs++;
                g->stats->bytes += e[i].size;
        }
        storage_entries_free(e, n);
        return r;
}

static void sweep_storage(struct gc_run *g, const char *url)
{
        struct storage *sto = NULL;
        struct hoist_error *e = NULL;

        if (jobrm_storage(g->home, &g->storages, url, &sto, &e) < 0 ||
            sweep_partials(g, url, sto, &e) < 0 || sweep_blobs(g, url, sto, &e) < 0) {
                log_warn("%s, ignoring", e->msg);
                hoist_error_free(e);
        }
}

/* Brings unfinished jobs up to date, so those that ended count as finished
 * (and their provider lets go of them: containers are removed). */
static void reconcile_all(struct gc_run *g, struct job_record **jobs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct hoist_error *e = NULL;
                if (job_state_terminal(jobs[i]->state))
                        continue;
                if (reconcile_job(g->home, g->st, &jobs[i], &e) < 0) {
                        log_warn("%s, ignoring", e->msg);
                        hoist_error_free(e);
                }
        }
}

static int lock_gc(const struct hoist_home *home, int *ret_fd, struct hoist_error **err)
{
        int r = home_lock_gc(home, 1, 0, ret_fd, err);

        if (r != 0)
                return r < 0 ? -1 : 0;
        log_info("waiting for the submits of this HOIST_HOME to finish uploading");
        return home_lock_gc(home, 1, -1, ret_fd, err) < 0 ? -1 : 0;
}

int gc_run(const struct hoist_home *home, struct store *st, const struct gc_options *o,
           struct gc_stats *ret, struct hoist_error **err)
{
        struct gc_stats stats = {0};
        struct gc_run g = {.home = home, .st = st, .o = o, .stats = &stats};
        struct job_record **jobs = NULL;
        _cleanup_close_ int lock = -1;
        size_t n = 0;

        if (lock_gc(home, &lock, err) < 0 || store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        g.now_s = (int64_t)time(NULL);
        reconcile_all(&g, jobs, n);
        for (size_t i = 0; i < n; i++)
                add_url(&g, jobs[i]->storage_url);
        /* Where the next job would go, if it was ever used: with no job
         * left, nothing else names it. */
        const char *def = jobstorage_default_url();
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
        if (strcmp(def, LOCALSERVE_URL) != 0 || fs_is_dir(serve_dir))
                add_url(&g, def);
        if (o->older_than_s >= 0)
                (void)remove_old_jobs(&g, jobs, n);
        job_records_free(jobs, n);
        (void)sweep_run_dirs(&g);
        (void)sweep_tmp(&g);
        for (size_t i = 0; i < g.n_urls; i++)
                sweep_storage(&g, g.urls[i]);
        jobrm_storages_clear(&g.storages);
        strv_free(g.urls);
        *ret = stats;
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * s3bench: lib/s3 driven the way bench/s3/run.sh needs it.  One file goes
 * through s3_put_file()/s3_get_file() (parallel parts and ranges); a
 * directory of files goes up or down through a pool of threads, each with
 * its own s3_client (a client and its curl share are not thread-safe), so
 * that many small objects move at once as `aws s3 cp --recursive` does.
 *
 *   s3bench put-file BUCKET KEY PATH
 *   s3bench get-file BUCKET KEY PATH
 *   s3bench put-dir  BUCKET PREFIX DIR     every regular file in DIR (flat)
 *   s3bench get-dir  BUCKET PREFIX DIR     every object under PREFIX
 *   s3bench rm-prefix BUCKET PREFIX
 *
 * Endpoint, region and keys come from the environment as in hoist itself.
 * S3BENCH_CONCURRENCY: parallel parts of one file (lib default 8);
 * S3BENCH_PART_SIZE: bytes (lib default: adaptive from 8 MiB);
 * S3BENCH_THREADS: files in flight for the *-dir verbs (default 16).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "s3.h"
#include "xalloc.h"

#define DEFAULT_THREADS 16

enum job_kind { JOB_PUT, JOB_GET, JOB_RM };

struct job {
        enum job_kind kind;
        const char *bucket;
        char **keys;  /* object keys */
        char **paths; /* local paths (NULL for JOB_RM) */
        size_t n;
        atomic_size_t next;
        atomic_int failed;
        pthread_mutex_t lock; /* the first error */
        char *first_error;
};

static struct s3_client_config arg_cfg = {.path_style = -1};
static unsigned arg_threads = DEFAULT_THREADS;

static uint64_t env_u64(const char *name, uint64_t dflt)
{
        const char *v = getenv(name);

        return v != NULL && *v != '\0' ? strtoull(v, NULL, 10) : dflt;
}

static void job_fail(struct job *j, struct hoist_error *e)
{
        pthread_mutex_lock(&j->lock);
        if (j->first_error == NULL)
                j->first_error = xstrdup(e != NULL ? e->msg : "failed");
        pthread_mutex_unlock(&j->lock);
        atomic_store(&j->failed, 1);
        hoist_error_free(e);
}

static void *worker(void *userdata)
{
        struct job *j = userdata;
        struct s3_client *c = NULL;
        struct hoist_error *e = NULL;

        if (s3_client_new(&arg_cfg, &c, &e) < 0) {
                job_fail(j, e);
                return NULL;
        }
        while (!atomic_load(&j->failed)) {
                size_t i = atomic_fetch_add(&j->next, 1);
                int r;
                if (i >= j->n)
                        break;
                if (j->kind == JOB_PUT)
                        r = s3_put_file(c, j->bucket, j->keys[i], j->paths[i], NULL, NULL, &e);
                else if (j->kind == JOB_GET)
                        r = s3_get_file(c, j->bucket, j->keys[i], j->paths[i], &e);
                else
                        r = s3_delete_object(c, j->bucket, j->keys[i], &e);
                if (r < 0) {
                        job_fail(j, e);
                        e = NULL;
                }
        }
        s3_client_free(c);
        return NULL;
}

static int job_run(struct job *j, struct hoist_error **err)
{
        unsigned n = arg_threads < j->n ? arg_threads : (unsigned)j->n;
        _cleanup_free_ pthread_t *t = xcalloc(n ? n : 1, sizeof *t);
        unsigned started = 0;

        pthread_mutex_init(&j->lock, NULL);
        for (; started < n; started++)
                if (pthread_create(&t[started], NULL, worker, j) != 0)
                        break;
        if (started == 0 && n > 0)
                worker(j);
        for (unsigned i = 0; i < started; i++)
                (void)pthread_join(t[i], NULL);
        pthread_mutex_destroy(&j->lock);
        if (atomic_load(&j->failed)) {
                int r = hoist_error_make(err, HOIST_ERR_PROVIDER, "%s", j->first_error);
                free(j->first_error);
                return r;
        }
        return 0;
}

static void names_free(char **v, size_t n)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_dir(const char *bucket, const char *prefix, const char *dir,
                   struct hoist_error **err)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char **names = NULL;
        size_t n = 0, cap = 0;
        int r;

        if (d == NULL)
                return hoist_error_errno(err, "open '%s'", dir);
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_REG)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        names = xrealloc(names, cap * sizeof *names);
                }
                names[n++] = xstrdup(de->d_name);
        }
        (void)closedir(d);
        qsort(names, n, sizeof *names, cmp_str);

        struct job j = {.kind = JOB_PUT, .bucket = bucket, .n = n};
        j.keys = xcalloc(n ? n : 1, sizeof *j.keys);
        j.paths = xcalloc(n ? n : 1, sizeof *j.paths);
        for (size_t i = 0; i < n; i++) {
                j.keys[i] = xasprintf("%s%s", prefix, names[i]);
                j.paths[i] = xasprintf("%s/%s", dir, names[i]);
        }
        r = job_run(&j, err);
        names_free(j.keys, n);
        names_free(j.paths, n);
        names_free(names, n);
        return r;
}

/* Lists PREFIX; KIND JOB_GET fetches into DIR, JOB_RM deletes. */
static int listed_job(enum job_kind kind, const char *bucket, const char *prefix, const char *dir,
                      struct hoist_error **err)
{
        _cleanup_s3_client_ struct s3_client *c = NULL;
        struct s3_object_list l = {0};
        size_t plen = strlen(prefix);
        int r;

        if (s3_client_new(&arg_cfg, &c, err) < 0 ||
            s3_list_objects(c, bucket, prefix, NULL, 0, &l, err) < 0)
                return -1;
        struct job j = {.kind = kind, .bucket = bucket, .n = l.n};
        j.keys = xcalloc(l.n ? l.n : 1, sizeof *j.keys);
        if (kind == JOB_GET)
                j.paths = xcalloc(l.n ? l.n : 1, sizeof *j.paths);
        for (size_t i = 0; i < l.n; i++) {
                const char *rel = l.objects[i].key + plen;
                j.keys[i] = xstrdup(l.objects[i].key);
                if (kind == JOB_GET) {
                        if (*rel == '\0' || strchr(rel, '/') != NULL) {
                                s3_object_list_clear(&l);
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "key '%s' is not a flat name under '%s'",
                                                        j.keys[i], prefix);
                        }
                        j.paths[i] = xasprintf("%s/%s", dir, rel);
                }
        }
        s3_object_list_clear(&l);
        r = job_run(&j, err);
        names_free(j.keys, j.n);
        names_free(j.paths, j.n);
        return r;
}

static int run(int argc, char **argv, struct hoist_error **err)
{
        const char *cmd = argv[1];

        if (strcmp(cmd, "put-file") == 0 && argc == 5) {
                _cleanup_s3_client_ struct s3_client *c = NULL;
                if (s3_client_new(&arg_cfg, &c, err) < 0)
                        return -1;
                return s3_put_file(c, argv[2], argv[3], argv[4], NULL, NULL, err);
        }
        if (strcmp(cmd, "get-file") == 0 && argc == 5) {
                _cleanup_s3_client_ struct s3_client *c = NULL;
                if (s3_client_new(&arg_cfg, &c, err) < 0)
                        return -1;
                return s3_get_file(c, argv[2], argv[3], argv[4], err);
        }
        if (strcmp(cmd, "put-dir") == 0 && argc == 5)
                return put_dir(argv[2], argv[3], argv[4], err);
        if (strcmp(cmd, "get-dir") == 0 && argc == 5) {
                if (mkdir(argv[4], 0755) < 0 && errno != EEXIST)
                        return hoist_error_errno(err, "mkdir '%s'", argv[4]);
                return listed_job(JOB_GET, argv[2], argv[3], argv[4], err);
        }
        if (strcmp(cmd, "rm-prefix") == 0 && argc == 4)
                return listed_job(JOB_RM, argv[2], argv[3], NULL, err);
        return hoist_error_make(err, HOIST_ERR_USAGE,
                                "usage: s3bench put-file|get-file BUCKET KEY PATH | "
                                "put-dir|get-dir BUCKET PREFIX DIR | rm-prefix BUCKET PREFIX");
}

int main(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        int r;

        log_init_from_env();
        if (argc < 2) {
                fprintf(stderr, "usage: s3bench COMMAND ARGS...\n");
                return 2;
        }
        /* Before any thread: curl_global_init() is not thread-safe. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "s3bench: cannot start libcurl\n");
                return 1;
        }
        arg_cfg.concurrency = (unsigned)env_u64("S3BENCH_CONCURRENCY", 0);
        arg_cfg.part_size = env_u64("S3BENCH_PART_SIZE", 0);
        arg_threads = (unsigned)env_u64("S3BENCH_THREADS", DEFAULT_THREADS);
        if (arg_threads == 0)
                arg_threads = 1;
        r = run(argc, argv, &err);
        curl_global_cleanup();
        if (r < 0) {
                fprintf(stderr, "s3bench: %s\n", err != NULL ? err->msg : "failed");
                hoist_error_free(err);
                return 1;
        }
        return 0;
}

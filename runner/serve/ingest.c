/* SPDX-License-Identifier: MIT */
#include "runner/serve/ingest.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "xalloc.h"

/* At most this many events in one transaction: a bound on the time the
 * first of them waits. */
#define INGEST_BATCH 256

struct ingest_item {
        const struct store_event *e;
        int result;
        struct hoist_error *err;
        bool done;
        struct ingest_item *next;
};

struct ingest {
        struct store *st; /* the writer's own */
        pthread_t writer;
        pthread_mutex_t mu;
        pthread_cond_t work; /* the writer waits for items */
        pthread_cond_t done; /* requests wait for their item */
        struct ingest_item *head, **tail;
        bool stopping;
};

/* Takes up to INGEST_BATCH queued items (G->mu held). */
static size_t take_batch(struct ingest *g, struct ingest_item **items)
{
        size_t n = 0;

        while (g->head != NULL && n < INGEST_BATCH) {
                items[n++] = g->head;
                g->head = g->head->next;
        }
        if (g->head == NULL)
                g->tail = &g->head;
        return n;
}

static void record(struct ingest *g, struct ingest_item **items, size_t n)
{
        const struct store_event *ev[INGEST_BATCH];
        struct hoist_error *errs[INGEST_BATCH];
        int results[INGEST_BATCH];
        struct hoist_error *err = NULL;

        for (size_t i = 0; i < n; i++)
                ev[i] = items[i]->e;
        if (store_apply_events(g->st, ev, n, results, errs, &err) < 0) {
                /* the whole transaction failed: every sender is told, and retries */
                for (size_t i = 0; i < n; i++) {
                        results[i] = -1;
                        errs[i] = NULL;
                        (void)hoist_error_make(&errs[i], err->code, "%s", err->msg);
                }
                hoist_error_free(err);
        }
        (void)pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < n; i++) {
                items[i]->result = results[i];
                items[i]->err = errs[i];
                items[i]->done = true;
        }
        (void)pthread_cond_broadcast(&g->done);
        (void)pthread_mutex_unlock(&g->mu);
}

static void *writer_main(void *p)
{
        struct ingest *g = p;
        struct ingest_item *items[INGEST_BATCH];

        for (;;) {
                size_t n;

                (void)pthread_mutex_lock(&g->mu);
                while (g->head == NULL && !g->stopping)
                        (void)pthread_cond_wait(&g->work, &g->mu);
                if (g->head == NULL) {
                        (void)pthread_mutex_unlock(&g->mu);
                        return NULL;
                }
                n = take_batch(g, items);
                (void)pthread_mutex_unlock(&g->mu);
                record(g, items, n);
        }
}

int ingest_start(const char *db_path, struct ingest **ret, struct hoist_error **err)
{
        struct ingest *g;
        struct store *st;
        int rc;

        if (store_open(db_path, &st, err) < 0)
                return -1;
        g = xzalloc(sizeof *g);
        g->st = st;
        g->tail = &g->head;
        (void)pthread_mutex_init(&g->mu, NULL);
        (void)pthread_cond_init(&g->work, NULL);
        (void)pthread_cond_init(&g->done, NULL);
        rc = pthread_create(&g->writer, NULL, writer_main, g);
        if (rc != 0) {
                store_close(st);
                (void)pthread_mutex_destroy(&g->mu);
                (void)pthread_cond_destroy(&g->work);
                (void)pthread_cond_destroy(&g->done);
                free(g);
                return hoist_error_make(err, rc, "start the webhook event writer");
        }
        *ret = g;
        return 0;
}

void ingest_stop(struct ingest *g)
{
        if (g == NULL)
                return;
        (void)pthread_mutex_lock(&g->mu);
        g->stopping = true;
        (void)pthread_cond_signal(&g->work);
        (void)pthread_mutex_unlock(&g->mu);
        (void)pthread_join(g->writer, NULL);
        store_close(g->st);
        (void)pthread_mutex_destroy(&g->mu);
        (void)pthread_cond_destroy(&g->work);
        (void)pthread_cond_destroy(&g->done);
        free(g);
}

int ingest_apply(struct ingest *g, const struct store_event *e, struct hoist_error **err)
{
        struct ingest_item it = {.e = e};

        (void)pthread_mutex_lock(&g->mu);
        /* IT stays queued only while this call waits: the writer unlinks it
         * (and resets the tail) before it marks it done. */
        *g->tail = &it;
        // cppcheck-suppress autoVariables
        g->tail = &it.next;
        (void)pthread_cond_signal(&g->work);
        while (!it.done)
                (void)pthread_cond_wait(&g->done, &g->mu);
        (void)pthread_mutex_unlock(&g->mu);
        if (it.result < 0)
                *err = it.err;
        return it.result;
}

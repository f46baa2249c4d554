/* SPDX-License-Identifier: MIT */
#include "runner/serve/apicache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "runner/control/store.h"
#include "runner/control/storeapi.h"
#include "xalloc.h"

#define APICACHE_ENTRIES 64

struct apicache_entry {
        char *key;
        char *text;
        int64_t version;
        int64_t made_ms; /* for live entries */
        bool live;
        uint64_t used; /* least recently used goes first */
};

struct apicache {
        pthread_mutex_t mu;
        struct store *st; /* only reads PRAGMA data_version */
        struct apicache_entry e[APICACHE_ENTRIES];
        uint64_t clock;
};

int apicache_new(const char *db_path, struct apicache **ret, struct hoist_error **err)
{
        struct apicache *c;
        struct store *st;

        if (store_open(db_path, &st, err) < 0)
                return -1;
        c = xzalloc(sizeof *c);
        c->st = st;
        (void)pthread_mutex_init(&c->mu, NULL);
        *ret = c;
        return 0;
}

void apicache_free(struct apicache *c)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < APICACHE_ENTRIES; i++) {
                free(c->e[i].key);
                free(c->e[i].text);
        }
        store_close(c->st);
        (void)pthread_mutex_destroy(&c->mu);
        free(c);
}

int apicache_version(struct apicache *c, int64_t *ret, struct hoist_error **err)
{
        int r;

        (void)pthread_mutex_lock(&c->mu);
        r = storeapi_data_version(c->st, ret, err);
        (void)pthread_mutex_unlock(&c->mu);
        return r;
}

char *apicache_get(struct apicache *c, const char *key, int64_t version)
{
        char *text = NULL;
        int64_t now = clock_mono_ms();

        (void)pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < APICACHE_ENTRIES; i++) {
                struct apicache_entry *e = &c->e[i];
                if (e->key == NULL || e->version != version || strcmp(e->key, key) != 0)
                        continue;
                if (e->live && now - e->made_ms >= APICACHE_LIVE_MS)
                        break;
                e->used = ++c->clock;
                text = xstrdup(e->text);
                break;
        }
        (void)pthread_mutex_unlock(&c->mu);
        return text;
}

void apicache_put(struct apicache *c, const char *key, int64_t version, bool live, const char *text)
{
        struct apicache_entry *victim = NULL;

        (void)pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < APICACHE_ENTRIES && victim == NULL; i++)
                if (c->e[i].key != NULL && strcmp(c->e[i].key, key) == 0)
                        victim = &c->e[i];
        for (size_t i = 0; i < APICACHE_ENTRIES && victim == NULL; i++)
                if (c->e[i].key == NULL)
                        victim = &c->e[i];
        if (victim == NULL) {
                victim = &c->e[0];
                for (size_t i = 1; i < APICACHE_ENTRIES; i++)
                        if (c->e[i].used < victim->used)
                                victim = &c->e[i];
        }
        free(victim->key);
        free(victim->text);
        victim->key = xstrdup(key);
        victim->text = xstrdup(text);
        victim->version = version;
        victim->live = live;
        victim->made_ms = clock_mono_ms();
        victim->used = ++c->clock;
        (void)pthread_mutex_unlock(&c->mu);
}

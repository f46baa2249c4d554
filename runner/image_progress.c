/* SPDX-License-Identifier: MIT */
#include "image_progress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "xalloc.h"

struct blob_state {
        char *digest;
        uint64_t done, total;
};

struct image_progress {
        pthread_mutex_t lock;
        struct progress *line;
        struct blob_state *blobs;
        size_t n;
};

struct image_progress *image_progress_new(const char *verb, const char *ref)
{
        struct image_progress *ip = xzalloc(sizeof *ip);
        char *label = xasprintf("%s '%s'", verb, ref);

        pthread_mutex_init(&ip->lock, NULL);
        ip->line = progress_new(label);
        free(label);
        return ip;
}

void image_progress_free(struct image_progress *ip)
{
        if (ip == NULL)
                return;
        progress_free(ip->line);
        for (size_t i = 0; i < ip->n; i++)
                free(ip->blobs[i].digest);
        free(ip->blobs);
        pthread_mutex_destroy(&ip->lock);
        free(ip);
}

static void on_progress(void *ud, const char *digest, uint64_t done, uint64_t total)
{
        struct image_progress *ip = ud;
        uint64_t sum_done = 0, sum_total = 0;
        size_t i;

        pthread_mutex_lock(&ip->lock);
        for (i = 0; i < ip->n && strcmp(ip->blobs[i].digest, digest) != 0; i++)
                ;
        if (i == ip->n) {
                ip->blobs = xreallocarray(ip->blobs, ip->n + 1, sizeof *ip->blobs);
                ip->blobs[ip->n++] = (struct blob_state){.digest = xstrdup(digest)};
        }
        ip->blobs[i].done = done;
        ip->blobs[i].total = total;
        for (i = 0; i < ip->n; i++) {
                sum_done += ip->blobs[i].done;
                sum_total += ip->blobs[i].total;
        }
        (void)progress_update(ip->line, sum_done, sum_total);
        pthread_mutex_unlock(&ip->lock);
}

void image_progress_attach(struct image_progress *ip, struct registry_options *o)
{
        o->progress = on_progress;
        o->userdata = ip;
}

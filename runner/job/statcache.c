/* SPDX-License-Identifier: MIT */
#include "runner/job/statcache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define STATCACHE_HEADER "hoist-statcache/v1\n"

static int64_t ns(struct timespec ts)
{
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void statcache_fill(struct statcache_entry *e, const char *path, const struct stat *st,
                    const char *sha256)
{
        e->path = xstrdup(path);
        e->size = (uint64_t)st->st_size;
        e->mtime_ns = ns(st->st_mtim);
        e->ctime_ns = ns(st->st_ctim);
        e->ino = (uint64_t)st->st_ino;
        snprintf(e->sha256, sizeof e->sha256, "%s", sha256);
}

int statcache_fresh(const struct statcache_entry *e, const struct stat *st)
{
        return e->size == (uint64_t)st->st_size && e->mtime_ns == ns(st->st_mtim) &&
               e->ctime_ns == ns(st->st_ctim) && e->ino == (uint64_t)st->st_ino;
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct statcache_entry *)a)->path,
                      ((const struct statcache_entry *)b)->path);
}

/* One line; 0 when it is not one of ours (the whole cache is then dropped). */
static int parse_line(char *line, struct statcache_entry *e)
{
        char hex[DIGEST_HEX_LEN + 1];
        int off = 0;

        if (sscanf(line, "%64s %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %n", hex, &e->size,
                   &e->mtime_ns, &e->ctime_ns, &e->ino, &off) != 5 ||
            off == 0 || line[off] == '\0' || !digest_hex_valid(hex))
                return 0;
        memcpy(e->sha256, hex, sizeof hex);
        e->path = xstrdup(line + off);
        return 1;
}

struct statcache *statcache_load(const char *file)
{
        struct statcache *c = xcalloc(1, sizeof *c);
        _cleanup_free_ char *data = NULL;
        _cleanup_error_ struct hoist_error *e = NULL;
        size_t len = 0, cap = 0;
        char *p, *nl;

        if (file == NULL || fs_read_file(file, &data, &len, &e) < 0 ||
            strncmp(data, STATCACHE_HEADER, strlen(STATCACHE_HEADER)) != 0)
                return c;
        for (p = data + strlen(STATCACHE_HEADER); (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
                *nl = '\0';
                if (c->n == cap) {
                        cap = cap ? cap * 2 : 256;
                        c->entries = xreallocarray(c->entries, cap, sizeof *c->entries);
                }
                memset(&c->entries[c->n], 0, sizeof *c->entries);
                if (!parse_line(p, &c->entries[c->n])) {
                        statcache_free(c);
                        return xcalloc(1, sizeof *c);
                }
                c->n++;
        }
        qsort(c->entries, c->n, sizeof *c->entries, cmp_entry);
        return c;
}

void statcache_free(struct statcache *c)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < c->n; i++)
                free(c->entries[i].path);
        free(c->entries);
        free(c);
}

const struct statcache_entry *statcache_find(const struct statcache *c, const char *path)
{
        struct statcache_entry key = {.path = (char *)path};

        if (c->n == 0)
                return NULL;
        return bsearch(&key, c->entries, c->n, sizeof *c->entries, cmp_entry);
}

int statcache_write(const char *file, const struct statcache_entry *entries, size_t n,
                    struct hoist_error **err)
{
        struct buf b = {0};
        int r;

        buf_append_str(&b, STATCACHE_HEADER);
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "%s %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %s\n",
                           entries[i].sha256, entries[i].size, entries[i].mtime_ns,
                           entries[i].ctime_ns, entries[i].ino, entries[i].path);
        r = fs_write_file_atomic(file, b.data ? b.data : "", b.len, 0600, err);
        buf_free(&b);
        return r;
}

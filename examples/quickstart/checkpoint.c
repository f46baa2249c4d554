#include "checkpoint.h"
#include "fileio.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAGIC "HQSCKPNT"
#define CKPT_VERSION 1u
#define CKPT_MAX_BYTES (256u << 20)
#define CKPT_MAX_FILES 4096

static void ckpt_name(uint64_t step, char *buf, size_t len)
{
        snprintf(buf, len, "ckpt-%06" PRIu64 ".bin", step);
}

/* Parses "ckpt-<digits>.bin"; returns -1 for any other name. */
static int ckpt_parse_name(const char *name, uint64_t *ret_step)
{
        const char *p = name + 5;
        uint64_t step = 0;

        if (strncmp(name, "ckpt-", 5) != 0 || *p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (step > (UINT64_MAX - 9) / 10)
                        return -1;
                step = step * 10 + (uint64_t)(*p - '0');
        }
        if (strcmp(p, ".bin") != 0)
                return -1;
        *ret_step = step;
        return 0;
}

static int cmp_desc(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? 1 : x > y ? -1 : 0;
}

/* The steps of every ckpt-*.bin in dir, newest first. */
static size_t list_steps(const char *dir, uint64_t *steps, size_t max)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        if (!d)
                return 0;
        while ((e = readdir(d)) && n < max)
                if (ckpt_parse_name(e->d_name, &steps[n]) == 0)
                        n++;
        closedir(d);
        qsort(steps, n, sizeof(*steps), cmp_desc);
        return n;
}

static void serialize(const struct checkpoint *c, struct bbuf *b)
{
        const struct mlp *m = &c->model;

        bbuf_put(b, CKPT_MAGIC, 8);
        bbuf_put_u32(b, CKPT_VERSION);
        bbuf_put_u32(b, (uint32_t)m->inputs);
        bbuf_put_u32(b, (uint32_t)m->hidden);
        bbuf_put_u32(b, (uint32_t)m->classes);
        bbuf_put_u32(b, c->batch);
        bbuf_put_u32(b, 0); /* reserved */
        bbuf_put_u64(b, c->step);
        bbuf_put_u64(b, c->seed);
        bbuf_put_u64(b, c->data_fingerprint);
        bbuf_put_f64(b, c->lr);
        bbuf_put_f64(b, c->momentum);
        bbuf_put_u64(b, m->nparams);
        for (size_t i = 0; i < m->nparams; i++)
                bbuf_put_f64(b, m->p[i]);
        for (size_t i = 0; i < m->nparams; i++)
                bbuf_put_f64(b, c->velocity[i]);
        bbuf_seal(b);
}

int checkpoint_save(const char *dir, const struct checkpoint *c, int keep)
{
        char name[64], pointer[80];
        uint64_t steps[CKPT_MAX_FILES];
        struct bbuf b = {0};
        size_t n;
        int r;

        ckpt_name(c->step, name, sizeof(name));
        serialize(c, &b);
        r = file_write_atomic(dir, name, b.data, b.len);
        bbuf_free(&b);
        if (r < 0)
                return r;
        snprintf(pointer, sizeof(pointer), "%s\n", name);
        if (file_write_atomic(dir, "latest", pointer, strlen(pointer)) < 0)
                return -1;

        n = list_steps(dir, steps, CKPT_MAX_FILES);
        for (size_t i = (size_t)keep; i < n; i++) {
                char path[PATH_MAX];

                if (steps[i] == c->step)
                        continue;
                ckpt_name(steps[i], name, sizeof(name));
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                if (unlink(path) < 0 && errno != ENOENT)
                        qs_warn("cannot delete old checkpoint '%s': %s, ignoring", path,
                                strerror(errno));
        }
        return 0;
}

/* Returns 0 and fills ret on success; -1 (with *why set) when the file is
 * unusable. */
static int load_file(const char *path, struct checkpoint *ret, const char **why)
{
        uint8_t *raw;
        size_t len;
        struct breader r;
        char magic[8];
        uint32_t version, inputs, hidden, classes;
        struct checkpoint c = {0};

        if (file_read_all(path, CKPT_MAX_BYTES, &raw, &len) < 0) {
                *why = strerror(errno);
                return -1;
        }
        if (breader_open_sealed(&r, raw, len) < 0) {
                free(raw);
                *why = "truncated or corrupt (checksum mismatch)";
                return -1;
        }
        breader_get(&r, magic, sizeof(magic));
        version = breader_u32(&r);
        inputs = breader_u32(&r);
        hidden = breader_u32(&r);
        classes = breader_u32(&r);
        c.batch = breader_u32(&r);
        (void)breader_u32(&r);
        c.step = breader_u64(&r);
        c.seed = breader_u64(&r);
        c.data_fingerprint = breader_u64(&r);
        c.lr = breader_f64(&r);
        c.momentum = breader_f64(&r);
        if (r.bad || memcmp(magic, CKPT_MAGIC, 8) != 0 || version != CKPT_VERSION ||
            inputs != DATASET_FEATURES || hidden < 1 || hidden > MLP_MAX_HIDDEN || classes < 2 ||
            classes > DATASET_MAX_CLASSES) {
                free(raw);
                *why = "not a " PROG " checkpoint of this version";
                return -1;
        }
        mlp_init(&c.model, (int)inputs, (int)hidden, (int)classes);
        c.velocity = qs_xcalloc(c.model.nparams, sizeof(double));
        if (breader_u64(&r) != c.model.nparams)
                r.bad = 1;
        for (size_t i = 0; i < c.model.nparams; i++)
                c.model.p[i] = breader_f64(&r);
        for (size_t i = 0; i < c.model.nparams; i++)
                c.velocity[i] = breader_f64(&r);
        free(raw);
        if (r.bad || r.pos != r.len) {
                checkpoint_free(&c);
                *why = "has the wrong size for its shape";
                return -1;
        }
        *ret = c;
        return 0;
}

static int read_latest(const char *dir, char *name, size_t len)
{
        char path[PATH_MAX];
        uint8_t *raw;
        size_t n;
        uint64_t step;

        snprintf(path, sizeof(path), "%s/latest", dir);
        if (file_read_all(path, 256, &raw, &n) < 0)
                return -1;
        while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
                n--;
        raw[n] = '\0';
        if (n >= len || ckpt_parse_name((char *)raw, &step) < 0) {
                qs_warn("'%s' does not name a checkpoint file, ignoring", path);
                free(raw);
                return -1;
        }
        memcpy(name, raw, n + 1);
        free(raw);
        return 0;
}

int checkpoint_restore(const char *dir, struct checkpoint *ret)
{
        uint64_t steps[CKPT_MAX_FILES + 1];
        size_t n = 0;
        char latest[64];
        int tried_latest = 0;

        /* `latest` first; then every file, newest first, for when `latest` is
         * missing or names a file that turns out to be damaged. */
        if (read_latest(dir, latest, sizeof(latest)) == 0 &&
            ckpt_parse_name(latest, &steps[0]) == 0) {
                n = 1;
                tried_latest = 1;
        }
        n += list_steps(dir, steps + n, CKPT_MAX_FILES);
        for (size_t i = 0; i < n; i++) {
                char name[64], path[PATH_MAX];
                const char *why = NULL;

                if (i > 0 && tried_latest && steps[i] == steps[0])
                        continue;
                ckpt_name(steps[i], name, sizeof(name));
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                if (load_file(path, ret, &why) == 0) {
                        if (i > 0 && tried_latest)
                                qs_warn("resuming from the older checkpoint '%s'", path);
                        return 1;
                }
                qs_warn("checkpoint '%s' is unusable: %s, ignoring it and trying the "
                        "previous one",
                        path, why);
        }
        if (n > 0)
                qs_warn("no usable checkpoint in '%s'; starting from step 0", dir);
        return 0;
}

void checkpoint_clean_temp(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d))) {
                char path[PATH_MAX];

                if (strncmp(e->d_name, ".ckpt-", 6) != 0 && strncmp(e->d_name, ".latest.", 8) != 0)
                        continue;
                if (!strstr(e->d_name, ".tmp."))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                (void)unlink(path);
        }
        closedir(d);
}

void checkpoint_free(struct checkpoint *c)
{
        mlp_free(&c->model);
        free(c->velocity);
        c->velocity = NULL;
}

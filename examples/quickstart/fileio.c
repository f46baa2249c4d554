#include "fileio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void bbuf_put(struct bbuf *b, const void *p, size_t n)
{
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 256;

                while (cap < b->len + n)
                        cap *= 2;
                b->data = realloc(b->data, cap);
                if (!b->data) {
                        fputs(PROG ": out of memory\n", stderr);
                        abort();
                }
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

void bbuf_put_u32(struct bbuf *b, uint32_t v)
{
        uint8_t le[4];

        for (int i = 0; i < 4; i++)
                le[i] = (uint8_t)(v >> (8 * i));
        bbuf_put(b, le, sizeof(le));
}

void bbuf_put_u64(struct bbuf *b, uint64_t v)
{
        uint8_t le[8];

        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t)(v >> (8 * i));
        bbuf_put(b, le, sizeof(le));
}

void bbuf_put_f64(struct bbuf *b, double v)
{
        uint64_t bits;

        memcpy(&bits, &v, sizeof(bits));
        bbuf_put_u64(b, bits);
}

void bbuf_free(struct bbuf *b)
{
        free(b->data);
        *b = (struct bbuf){0};
}

void breader_get(struct breader *r, void *p, size_t n)
{
        if (r->bad || n > r->len - r->pos) {
                r->bad = 1;
                memset(p, 0, n);
                return;
        }
        memcpy(p, r->data + r->pos, n);
        r->pos += n;
}

uint32_t breader_u32(struct breader *r)
{
        uint8_t le[4];
        uint32_t v = 0;

        breader_get(r, le, sizeof(le));
        for (int i = 0; i < 4; i++)
                v |= (uint32_t)le[i] << (8 * i);
        return v;
}

uint64_t breader_u64(struct breader *r)
{
        uint8_t le[8];
        uint64_t v = 0;

        breader_get(r, le, sizeof(le));
        for (int i = 0; i < 8; i++)
                v |= (uint64_t)le[i] << (8 * i);
        return v;
}

double breader_f64(struct breader *r)
{
        uint64_t bits = breader_u64(r);
        double v;

        memcpy(&v, &bits, sizeof(v));
        return v;
}

uint32_t crc32_ieee(const void *data, size_t len)
{
        static uint32_t table[256];
        const uint8_t *p = data;
        uint32_t crc = 0xffffffffu;

        if (!table[1]) {
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;

                        for (int k = 0; k < 8; k++)
                                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
                        table[i] = c;
                }
        }
        for (size_t i = 0; i < len; i++)
                crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        return crc ^ 0xffffffffu;
}

void bbuf_seal(struct bbuf *b)
{
        bbuf_put_u32(b, crc32_ieee(b->data, b->len));
}

int breader_open_sealed(struct breader *r, const uint8_t *data, size_t len)
{
        struct breader tail;

        if (len < 4)
                return -1;
        tail = (struct breader){.data = data + len - 4, .len = 4};
        if (breader_u32(&tail) != crc32_ieee(data, len - 4))
                return -1;
        *r = (struct breader){.data = data, .len = len - 4};
        return 0;
}

static int write_full(int fd, const void *data, size_t len)
{
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int fsync_dir(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return -1;
        r = fsync(fd);
        close(fd);
        return r;
}

int file_write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
        char tmp[PATH_MAX], dst[PATH_MAX];
        int fd;

        if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst) ||
            snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, name, (long)getpid()) >=
                    (int)sizeof(tmp))
                return qs_error("path '%s/%s' is too long", dir, name);

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return qs_error("cannot create '%s': %s", tmp, strerror(errno));
        if (write_full(fd, data, len) < 0 || fsync(fd) < 0) {
                int e = errno;

                close(fd);
                (void)unlink(tmp);
                return qs_error("cannot write '%s': %s", tmp, strerror(e));
        }
        if (close(fd) < 0 || rename(tmp, dst) < 0) {
                int e = errno;

                (void)unlink(tmp);
                return qs_error("cannot write '%s': %s", dst, strerror(e));
        }
        if (fsync_dir(dir) < 0)
                return qs_error("cannot sync directory '%s': %s", dir, strerror(errno));
        return 0;
}

int file_read_all(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len)
{
        struct stat st;
        uint8_t *data;
        size_t got = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0) {
                int e = errno;

                close(fd);
                errno = e;
                return -1;
        }
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
                close(fd);
                errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
                return -1;
        }
        data = qs_xcalloc((size_t)st.st_size + 1, 1);
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        *ret_data = data;
        *ret_len = got;
        return 0;
}

int dir_ensure(const char *what, const char *path)
{
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len == 0 || len >= sizeof(buf))
                return qs_error("%s '%s' is not a usable directory path", what, path);
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return qs_error("cannot create %s '%s': %s", what, buf, strerror(errno));
                *p = '/';
        }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return qs_error("cannot create %s '%s': %s", what, path, strerror(errno));
        return 0;
}

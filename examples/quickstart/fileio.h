/* Byte buffers with explicit little-endian encoding, CRC-32, and atomic files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct bbuf {
        uint8_t *data;
        size_t len, cap;
};

void bbuf_put(struct bbuf *b, const void *p, size_t n);
void bbuf_put_u32(struct bbuf *b, uint32_t v);
void bbuf_put_u64(struct bbuf *b, uint64_t v);
void bbuf_put_f64(struct bbuf *b, double v);
void bbuf_free(struct bbuf *b);

/* A bounds-checked reader: once a read runs past the end, `bad` is set and
 * every later read returns zeros, so a parser checks once at the end. */
struct breader {
        const uint8_t *data;
        size_t len, pos;
        int bad;
};

void breader_get(struct breader *r, void *p, size_t n);
uint32_t breader_u32(struct breader *r);
uint64_t breader_u64(struct breader *r);
double breader_f64(struct breader *r);

uint32_t crc32_ieee(const void *data, size_t len);

/* Appends a CRC-32 of everything written so far. */
void bbuf_seal(struct bbuf *b);
/* Checks the trailing CRC-32 written by bbuf_seal(); on success sets up `r`
 * over the bytes before it. */
int breader_open_sealed(struct breader *r, const uint8_t *data, size_t len);

/* Writes DIR/NAME so that it is either absent, the old file, or complete:
 * a temp file in DIR, fsync, rename over NAME, fsync DIR. */
int file_write_atomic(const char *dir, const char *name, const void *data, size_t len);
/* Reads a whole file of at most `max` bytes.  Errors are left in errno
 * (EFBIG when the file is larger); nothing is printed. */
int file_read_all(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len);
/* mkdir -p; prints an error naming `what` on failure. */
int dir_ensure(const char *what, const char *path);

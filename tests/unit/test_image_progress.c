/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/image/image_progress.h"

#define D1 "sha256:3f2a1b9c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
#define D2 "sha256:9e8d7c6b5a4132231405f6e7d8c9bafb0c1d2e3f405162738495a6b7c8d9eaf0"
#define MIB (1024ull * 1024ull)

static void test_format_blob(void **state)
{
        char b[256];

        (void)state;
        assert_string_equal(image_progress_format_blob(b, sizeof b, D1, 40 * MIB,
                                                       REGISTRY_BLOB_UPLOADING, 12 * MIB, 1),
                            "sha256:3f2a1b9c0d4e  40.0 MiB  uploading 12.0 MiB/40.0 MiB (30%)");
        assert_string_equal(image_progress_format_blob(b, sizeof b, D1, 40 * MIB,
                                                       REGISTRY_BLOB_UPLOADING, 12 * MIB, 0),
                            "sha256:3f2a1b9c0d4e  40.0 MiB  uploading");
        assert_string_equal(
                image_progress_format_blob(b, sizeof b, D2, 391, REGISTRY_BLOB_EXISTS, 391, 1),
                "sha256:9e8d7c6b5a41     391 B  exists");
        /* a retried request may report more than the size once */
        assert_string_equal(image_progress_format_blob(b, sizeof b, D2, 2048,
                                                       REGISTRY_BLOB_DOWNLOADING, 4096, 1),
                            "sha256:9e8d7c6b5a41   2.0 KiB  downloading 2.0 KiB/2.0 KiB (100%)");
        assert_string_equal(
                image_progress_format_blob(b, sizeof b, D2, 0, REGISTRY_BLOB_DOWNLOADING, 0, 1),
                "sha256:9e8d7c6b5a41       0 B  downloading 0 B/0 B (100%)");
        /* cut, not overrun */
        assert_string_equal(image_progress_format_blob(b, 12, D1, 1, REGISTRY_BLOB_DONE, 1, 1),
                            "sha256:3f2a");
        assert_string_equal(image_progress_state_name(REGISTRY_BLOB_MOUNTED), "mounted");
        assert_string_equal(image_progress_state_name(REGISTRY_BLOB_PUSHED), "pushed");
        assert_string_equal(image_progress_state_name(REGISTRY_BLOB_VERIFIED), "verified");
        assert_string_equal(image_progress_state_name(REGISTRY_BLOB_FAILED), "failed");
}

static void test_format_summary(void **state)
{
        struct registry_stats st = {.blobs_uploaded = 2, .blobs_skipped = 1, .bytes = 43200000};
        char b[512];

        (void)state;
        assert_string_equal(
                image_progress_format_summary(b, sizeof b, 1, "127.0.0.1:5000/team/trainer:v1", &st,
                                              "sha256:abc"),
                "pushed 127.0.0.1:5000/team/trainer:v1: 3 blobs, 2 uploaded (41.2 MiB), 1 already "
                "there; digest sha256:abc");
        st = (struct registry_stats){.blobs_mounted = 1};
        assert_string_equal(image_progress_format_summary(b, sizeof b, 1, "r:v1", &st, "sha256:d"),
                            "pushed r:v1: 1 blob, 0 uploaded (0 B), 0 already there, 1 mounted; "
                            "digest sha256:d");
        st = (struct registry_stats){.blobs_downloaded = 1, .blobs_skipped = 1, .bytes = 2048};
        assert_string_equal(image_progress_format_summary(b, sizeof b, 0, "r:v1", &st, "sha256:d"),
                            "pulled r:v1: 2 blobs, 1 downloaded (2.0 KiB), 1 already here; digest "
                            "sha256:d");
}

/* Drives IP through a push of D1 (uploaded) and D2 (there already). */
static void drive_push(struct image_progress *ip)
{
        struct registry_options o = {0};

        image_progress_attach(ip, &o);
        o.blob_state(o.userdata, D1, REGISTRY_BLOB_WAITING, 4 * MIB);
        o.progress(o.userdata, D1, 0, 4 * MIB);
        o.blob_state(o.userdata, D2, REGISTRY_BLOB_WAITING, 391);
        o.progress(o.userdata, D2, 0, 391);
        o.progress(o.userdata, D2, 391, 391);
        o.blob_state(o.userdata, D2, REGISTRY_BLOB_EXISTS, 391);
        o.blob_state(o.userdata, D1, REGISTRY_BLOB_UPLOADING, 4 * MIB);
        for (uint64_t done = 0; done <= 4 * MIB; done += MIB / 4)
                o.progress(o.userdata, D1, done, 4 * MIB);
        o.blob_state(o.userdata, D1, REGISTRY_BLOB_PUSHED, 4 * MIB);
}

static void test_lines_mode(void **state)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct image_progress *ip;

        (void)state;
        ip = image_progress_new_on("push", "r:v1", f, IMAGE_PROGRESS_LINES, 0);
        drive_push(ip);
        image_progress_free(ip);
        fclose(f);
        /* one line per change of state, none per byte count */
        assert_string_equal(text, "push: sha256:3f2a1b9c0d4e   4.0 MiB  waiting\n"
                                  "push: sha256:9e8d7c6b5a41     391 B  waiting\n"
                                  "push: sha256:9e8d7c6b5a41     391 B  exists\n"
                                  "push: sha256:3f2a1b9c0d4e   4.0 MiB  uploading\n"
                                  "push: sha256:3f2a1b9c0d4e   4.0 MiB  pushed\n");
        free(text);
}

static void test_none_mode(void **state)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct image_progress *ip;

        (void)state;
        ip = image_progress_new_on("push", "r:v1", f, IMAGE_PROGRESS_NONE, 0);
        drive_push(ip);
        image_progress_free(ip);
        fclose(f);
        assert_int_equal(len, 0);
        free(text);
}

/* What a terminal shows after TEXT: \r, \n, ESC[nA and ESC[K understood. */
#define ROWS 16
#define COLS 128
static int emulate(const char *text, char screen[ROWS][COLS])
{
        int row = 0, col = 0, rows = 0;

        memset(screen, 0, ROWS * COLS);
        for (const char *p = text; *p; p++) {
                if (*p == '\r') {
                        col = 0;
                } else if (*p == '\n') {
                        row++;
                } else if (*p == '\033' && p[1] == '[') {
                        char *end;
                        long n = strtol(p + 2, &end, 10);
                        if (*end == 'A')
                                row -= (int)(end == p + 2 ? 1 : n);
                        else if (*end == 'K')
                                screen[row][col] = '\0';
                        else
                                fail_msg("unexpected escape %c", *end);
                        assert_true(row >= 0);
                        p = end;
                } else {
                        assert_true(row < ROWS && col < COLS - 1);
                        screen[row][col++] = *p;
                }
                if (row + 1 > rows && row < ROWS && screen[row][0] != '\0')
                        rows = row + 1;
        }
        assert_int_equal(row, rows); /* the cursor ends below the block */
        return rows;
}

static void test_tty_mode(void **state)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct image_progress *ip;
        char screen[ROWS][COLS];

        (void)state;
        ip = image_progress_new_on("push", "r:v1", f, IMAGE_PROGRESS_TTY, 80);
        drive_push(ip);
        image_progress_finish(ip);
        fflush(f);
        /* redrawn in place: the block is two lines however often it was drawn */
        assert_int_equal(emulate(text, screen), 2);
        assert_string_equal(screen[0], "sha256:3f2a1b9c0d4e   4.0 MiB  pushed");
        assert_string_equal(screen[1], "sha256:9e8d7c6b5a41     391 B  exists");
        assert_non_null(strstr(text, "\033[2A"));
        /* finish twice draws nothing more */
        len = strlen(text);
        image_progress_finish(ip);
        fflush(f);
        assert_int_equal(strlen(text), len);
        image_progress_free(ip);
        fclose(f);
        free(text);
}

static void test_tty_cut_to_width(void **state)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct image_progress *ip;
        struct registry_options o = {0};
        char screen[ROWS][COLS];

        (void)state;
        ip = image_progress_new_on("pull", "r:v1", f, IMAGE_PROGRESS_TTY, 30);
        image_progress_attach(ip, &o);
        o.blob_state(o.userdata, D1, REGISTRY_BLOB_WAITING, 4 * MIB);
        o.blob_state(o.userdata, D1, REGISTRY_BLOB_DOWNLOADING, 4 * MIB);
        o.progress(o.userdata, D1, MIB, 4 * MIB);
        image_progress_free(ip);
        fclose(f);
        assert_int_equal(emulate(text, screen), 1);
        assert_string_equal(screen[0], "sha256:3f2a1b9c0d4e   4.0 MiB");
        free(text);
}

/* On a real pty 6 rows high: 10 blobs take 4 lines, the last counting the rest. */
static void test_tty_taller_than_terminal(void **state)
{
        struct winsize ws = {.ws_row = 6, .ws_col = 80};
        int master, slave;
        FILE *f;
        struct image_progress *ip;
        struct registry_options o = {0};
        char digests[10][32], text[8192], screen[ROWS][COLS];
        ssize_t n, len = 0;

        (void)state;
        assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
        f = fdopen(slave, "w");
        assert_non_null(f);
        ip = image_progress_new_on("push", "r", f, IMAGE_PROGRESS_TTY, 0);
        image_progress_attach(ip, &o);
        for (int i = 0; i < 10; i++) {
                (void)snprintf(digests[i], sizeof digests[i], "sha256:%012d", i);
                o.blob_state(o.userdata, digests[i], REGISTRY_BLOB_WAITING, 1024);
        }
        o.blob_state(o.userdata, digests[9], REGISTRY_BLOB_UPLOADING, 1024);
        o.progress(o.userdata, digests[9], 512, 1024);
        image_progress_free(ip);
        fclose(f);
        assert_int_equal(fcntl(master, F_SETFL, O_NONBLOCK), 0);
        while ((n = read(master, text + len, sizeof text - 1 - (size_t)len)) > 0)
                len += n;
        close(master);
        text[len] = '\0';
        assert_int_equal(emulate(text, screen), 4);
        assert_string_equal(screen[0], "sha256:000000000000   1.0 KiB  waiting");
        assert_string_equal(screen[2], "sha256:000000000002   1.0 KiB  waiting");
        assert_string_equal(screen[3], "... 7 more blobs, 1 of them moving");
}

static void test_mode_for(void **state)
{
        int fds[2];

        (void)state;
        assert_int_equal(pipe(fds), 0);
        unsetenv("HOIST_PROGRESS");
        assert_int_equal(image_progress_mode_for(fds[1], 0, IMAGE_PROGRESS_NONE),
                         IMAGE_PROGRESS_NONE);
        assert_int_equal(image_progress_mode_for(fds[1], 0, IMAGE_PROGRESS_LINES),
                         IMAGE_PROGRESS_LINES);
        setenv("HOIST_PROGRESS", "lines", 1);
        assert_int_equal(image_progress_mode_for(fds[1], 0, IMAGE_PROGRESS_NONE),
                         IMAGE_PROGRESS_LINES);
        assert_int_equal(image_progress_mode_for(fds[1], 1, IMAGE_PROGRESS_NONE),
                         IMAGE_PROGRESS_NONE);
        setenv("HOIST_PROGRESS", "none", 1);
        assert_int_equal(image_progress_mode_for(fds[1], 0, IMAGE_PROGRESS_LINES),
                         IMAGE_PROGRESS_NONE);
        unsetenv("HOIST_PROGRESS");
        close(fds[0]);
        close(fds[1]);
}

struct hammer {
        struct registry_options *o;
        const char *digest;
};

static void *hammer(void *arg)
{
        struct hammer *h = arg;

        h->o->blob_state(h->o->userdata, h->digest, REGISTRY_BLOB_UPLOADING, 1000000);
        for (uint64_t i = 0; i <= 1000000; i += 100)
                h->o->progress(h->o->userdata, h->digest, i, 1000000);
        h->o->blob_state(h->o->userdata, h->digest, REGISTRY_BLOB_PUSHED, 1000000);
        return NULL;
}

/* The transfer threads call in at once (run under ASan/TSan to mean much). */
static void test_threads(void **state)
{
        static const char *const digests[] = {D1, D2, "sha256:0001", "sha256:0002"};
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct image_progress *ip = image_progress_new_on("push", "r", f, IMAGE_PROGRESS_TTY, 80);
        struct registry_options o = {0};
        struct hammer h[4];
        pthread_t t[4];
        char screen[ROWS][COLS];

        (void)state;
        image_progress_attach(ip, &o);
        for (int i = 0; i < 4; i++)
                o.blob_state(o.userdata, digests[i], REGISTRY_BLOB_WAITING, 1000000);
        for (int i = 0; i < 4; i++) {
                h[i] = (struct hammer){.o = &o, .digest = digests[i]};
                assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
        }
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        image_progress_free(ip);
        fclose(f);
        assert_int_equal(emulate(text, screen), 4);
        for (int i = 0; i < 4; i++)
                assert_non_null(strstr(screen[i], "  pushed"));
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_blob),
                cmocka_unit_test(test_format_summary),
                cmocka_unit_test(test_lines_mode),
                cmocka_unit_test(test_none_mode),
                cmocka_unit_test(test_tty_mode),
                cmocka_unit_test(test_tty_cut_to_width),
                cmocka_unit_test(test_tty_taller_than_terminal),
                cmocka_unit_test(test_mode_for),
                cmocka_unit_test(test_threads),
        };
        return cmocka_run_group_tests_name("image_progress", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"

/* FIPS 180-2 test vectors. */
static void test_known_vectors(void **state)
{
        (void)state;
        char hex[65];

        digest_sha256_hex("", 0, hex);
        assert_string_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        digest_sha256_hex("abc", 3, hex);
        assert_string_equal(hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_streaming_equals_oneshot(void **state)
{
        (void)state;
        static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        char hex[65];
        struct digest_ctx *ctx = digest_new();

        for (size_t i = 0; i < sizeof msg - 1; i += 5)
                digest_update(ctx, msg + i, (sizeof msg - 1 - i) < 5 ? sizeof msg - 1 - i : 5);
        digest_final_hex(ctx, hex);
        assert_string_equal(hex,
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_file(void **state)
{
        (void)state;
        char path[] = "/tmp/hoist-digest-XXXXXX";
        int fd = mkstemp(path);
        char hex[65];
        uint64_t size = 0;
        struct hoist_error *err = NULL;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc", 3), 3);
        close(fd);
        assert_int_equal(digest_file_hex(path, hex, &size, &err), 0);
        assert_int_equal(size, 3);
        assert_string_equal(hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        unlink(path);
        assert_int_equal(digest_file_hex(path, hex, &size, &err), -1);
        assert_non_null(strstr(err->msg, "No such file"));
        hoist_error_free(err);
}

static void test_parse_and_validate(void **state)
{
        (void)state;
        const char *good =
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

        assert_non_null(digest_parse(good));
        assert_string_equal(digest_parse(good), good + 7);
        assert_null(digest_parse(
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        assert_null(digest_parse("sha512:e3b0"));
        assert_null(digest_parse("sha256:e3b0"));
        assert_false(digest_hex_valid(NULL));
}

static void test_hex_digit(void **state)
{
        (void)state;
        assert_int_equal(digest_hex_digit('0'), 0);
        assert_int_equal(digest_hex_digit('9'), 9);
        assert_int_equal(digest_hex_digit('a'), 10);
        assert_int_equal(digest_hex_digit('F'), 15);
        assert_int_equal(digest_hex_digit('g'), -1);
        assert_int_equal(digest_hex_digit('%'), -1);
        assert_int_equal(digest_hex_digit('\0'), -1);
}

/* RFC 4231 test case 2. */
static void test_hmac(void **state)
{
        (void)state;
        uint8_t out[32];
        char hex[65];

        digest_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
        digest_to_hex(out, 32, hex);
        assert_string_equal(hex,
                            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known_vectors),
                cmocka_unit_test(test_streaming_equals_oneshot),
                cmocka_unit_test(test_file),
                cmocka_unit_test(test_parse_and_validate),
                cmocka_unit_test(test_hex_digit),
                cmocka_unit_test(test_hmac),
        };
        return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}

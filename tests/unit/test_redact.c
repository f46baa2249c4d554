/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "entrypoint/redact.h"

static char *redacted(const struct redact *r, const char *s)
{
        return redact_string(r, s);
}

static void assert_redacts(const struct redact *r, const char *in, const char *want)
{
        _cleanup_free_ char *got = redacted(r, in);

        assert_string_equal(got, want);
}

static void test_several_secrets(void **state)
{
        struct redact *r = redact_new();

        (void)state;
        redact_add(r, "HF_TOKEN", "hf_abcdefgh");
        redact_add(r, "WANDB", "0123456789");
        assert_int_equal(redact_count(r), 2);
        assert_redacts(r, "token hf_abcdefgh key 0123456789 again hf_abcdefgh",
                       "token [secret HF_TOKEN] key [secret WANDB] again [secret HF_TOKEN]");
        assert_redacts(r, "nothing here hf_abcdefg 012345678", "nothing here hf_abcdefg 012345678");
        assert_redacts(r, "", "");
        redact_free(r);
}

static void test_prefix_and_overlap(void **state)
{
        struct redact *r = redact_new();

        (void)state;
        /* one value a prefix of another: the longer wins where both match */
        redact_add(r, "SHORT", "abcd1234");
        redact_add(r, "LONG", "abcd1234efgh");
        assert_redacts(r, "abcd1234efgh|abcd1234|abcd1234efg",
                       "[secret LONG]|[secret SHORT]|[secret SHORT]efg");
        redact_free(r);

        /* overlapping values: the leftmost occurrence wins, and neither
         * value is left whole */
        r = redact_new();
        redact_add(r, "A", "xxyyzz11");
        redact_add(r, "B", "zz11qqrr");
        assert_redacts(r, "<xxyyzz11qqrr>", "<[secret A]qqrr>");
        assert_redacts(r, "<yyzz11qqrr>", "<yy[secret B]>");
        redact_free(r);
}

static void test_short_and_empty(void **state)
{
        struct redact *r = redact_new();

        (void)state;
        redact_add(r, "EMPTY", "");
        redact_add(r, "NONE", NULL);
        assert_int_equal(redact_count(r), 0);
        assert_redacts(r, "as is", "as is");
        /* a one-byte secret is redacted too, everywhere it occurs */
        redact_add(r, "X", "x");
        assert_redacts(r, "max x", "ma[secret X] [secret X]");
        /* the same value under a second name keeps the first */
        redact_add(r, "Y", "x");
        assert_int_equal(redact_count(r), 1);
        redact_free(r);
}

/* Every split of TEXT into two or three reads redacts like the whole. */
static void test_stream_splits(void **state)
{
        static const char text[] = "a=s3cr3t-value b=s3cr3t-val c=s3cr3t-value-long\ns3cr3t-v";
        struct redact *r = redact_new();
        _cleanup_free_ char *whole = NULL;
        size_t n = strlen(text);

        (void)state;
        redact_add(r, "V", "s3cr3t-value");
        redact_add(r, "L", "s3cr3t-value-long");
        whole = redacted(r, text);
        assert_string_equal(whole, "a=[secret V] b=s3cr3t-val c=[secret L]\ns3cr3t-v");
        for (size_t i = 0; i <= n; i++)
                for (size_t j = i; j <= n; j++) {
                        struct redact_stream s = {0};
                        _cleanup_buf_ struct buf out = {0};
                        redact_feed(r, &s, text, i, &out);
                        /* nothing that may still become a value is out yet */
                        assert_null(strstr(out.data ? out.data : "", "s3cr3t-value"));
                        redact_feed(r, &s, text + i, j - i, &out);
                        redact_feed(r, &s, text + j, n - j, &out);
                        redact_stream_flush(r, &s, &out);
                        assert_string_equal(out.data ? out.data : "", whole);
                        redact_stream_free(&s);
                }
        redact_free(r);
}

static void test_stream_holds_only_a_possible_start(void **state)
{
        struct redact *r = redact_new();
        struct redact_stream s = {0};
        _cleanup_buf_ struct buf out = {0};

        (void)state;
        redact_add(r, "K", "key-12345");
        redact_feed(r, &s, "loss 0.5 ke", 11, &out);
        assert_string_equal(out.data, "loss 0.5 ");
        redact_feed(r, &s, "ep going", 8, &out);
        assert_string_equal(out.data, "loss 0.5 keep going");
        assert_int_equal(s.held.len, 0);
        redact_stream_free(&s);
        redact_free(r);

        /* with no secret a stream passes through */
        r = redact_new();
        buf_reset(&out);
        redact_feed(r, &s, "key-1", 5, &out);
        assert_string_equal(out.data, "key-1");
        redact_stream_free(&s);
        redact_free(r);
}

static void test_json(void **state)
{
        struct redact *r = redact_new();
        json_t *v = json_pack("{s:s, s:i, s:[s, s, {s:s}]}", "reason", "bad token hunter2-pass",
                              "n", 3, "list", "hunter2-pass", "fine", "deep", "x hunter2-pass y");
        _cleanup_free_ char *text = NULL;

        (void)state;
        redact_add(r, "PW", "hunter2-pass");
        redact_json(r, v);
        text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "{\"list\":[\"[secret PW]\",\"fine\",{\"deep\":\"x [secret PW] "
                                  "y\"}],\"n\":3,\"reason\":\"bad token [secret PW]\"}");
        json_decref(v);
        redact_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_several_secrets),
                cmocka_unit_test(test_prefix_and_overlap),
                cmocka_unit_test(test_short_and_empty),
                cmocka_unit_test(test_stream_splits),
                cmocka_unit_test(test_stream_holds_only_a_possible_start),
                cmocka_unit_test(test_json),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

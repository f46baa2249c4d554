/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "webhook.h"

/* The Standard Webhooks specification's own example, also what npm
 * standardwebhooks computes for it. */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Pinned from node: new Webhook("whsec_" + base64("hoist-test-key-0123456789abcdef"))
 * .sign("j-1.1.n.0", new Date(1763700000e3), BODY2). */
#define HOIST_SECRET "whsec_aG9pc3QtdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZg=="
#define BODY2 "{\"id\":\"j-1.1.n.0\",\"type\":\"job.succeeded\"}"
#define SIG2 "v1,AAU/0IvYtZsHU4JHJ27DtTqtoDCVCk/99Lnnz4+aIPU="

static struct webhook_key key_of(const char *secret)
{
        struct webhook_key k;
        struct hoist_error *err = NULL;

        assert_int_equal(webhook_key_parse(secret, "test", &k, &err), 0);
        assert_null(err);
        return k;
}

static void test_sign_vectors(void **state)
{
        (void)state;
        struct webhook_key k = key_of(SPEC_SECRET);
        char *sig = webhook_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY));

        assert_string_equal(sig, SPEC_SIG);
        free(sig);
        k = key_of(HOIST_SECRET);
        assert_int_equal(k.len, 31);
        assert_memory_equal(k.bytes, "hoist-test-key-0123456789abcdef", 31);
        sig = webhook_sign(&k, "j-1.1.n.0", 1763700000, BODY2, strlen(BODY2));
        assert_string_equal(sig, SIG2);
        free(sig);
}

static int verify(const char *secret, const char *id, const char *ts, const char *sigs,
                  const char *body, int64_t now, char **ret_msg)
{
        struct webhook_key k = key_of(secret);
        struct hoist_error *err = NULL;
        int r = webhook_verify(&k, id, ts, sigs, body, strlen(body), now, &err);

        if (r < 0) {
                assert_non_null(err);
                if (ret_msg != NULL)
                        *ret_msg = strdup(err->msg);
                hoist_error_free(err);
        } else {
                assert_null(err);
        }
        return r;
}

static void test_verify(void **state)
{
        (void)state;
        char *msg = NULL;

        assert_int_equal(
                verify(SPEC_SECRET, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY, SPEC_TS + 10, NULL),
                WEBHOOK_OK);
        /* tampered body */
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330", SPEC_SIG,
                                "{\"test\": 2432232315}", SPEC_TS, &msg),
                         WEBHOOK_BAD_SIGNATURE);
        assert_null(strstr(msg, "g0hM9")); /* never echoes a signature */
        free(msg);
        /* another id, another timestamp: the signature covers both */
        assert_int_equal(
                verify(SPEC_SECRET, "msg_other", "1614265330", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                WEBHOOK_BAD_SIGNATURE);
        assert_int_equal(
                verify(SPEC_SECRET, SPEC_ID, "1614265331", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                WEBHOOK_BAD_SIGNATURE);
        /* wrong secret */
        assert_int_equal(
                verify(HOIST_SECRET, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                WEBHOOK_BAD_SIGNATURE);
        /* old and future timestamps: 5 minutes either way */
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                SPEC_TS + 300, NULL),
                         WEBHOOK_OK);
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                SPEC_TS + 301, &msg),
                         WEBHOOK_BAD_TIMESTAMP);
        assert_non_null(strstr(msg, "webhook-timestamp"));
        free(msg);
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                SPEC_TS - 301, NULL),
                         WEBHOOK_BAD_TIMESTAMP);
        /* malformed headers */
        assert_int_equal(
                verify(SPEC_SECRET, SPEC_ID, "16142653x0", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                WEBHOOK_BAD_HEADERS);
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_BAD_HEADERS);
        assert_int_equal(verify(SPEC_SECRET, "", "1614265330", SPEC_SIG, SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_BAD_HEADERS);
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330", "", SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_BAD_HEADERS);
}

static void test_multiple_signatures(void **state)
{
        (void)state;

        /* key rotation: any one matching v1 signature passes */
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330",
                                "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " SPEC_SIG,
                                SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_OK);
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330",
                                SPEC_SIG " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                                SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_OK);
        /* other versions and garbage are skipped, not matched */
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330",
                                "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,xyz v1, v1,!!",
                                SPEC_BODY, SPEC_TS, NULL),
                         WEBHOOK_BAD_SIGNATURE);
        /* a truncated signature does not match */
        assert_int_equal(verify(SPEC_SECRET, SPEC_ID, "1614265330",
                                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ", SPEC_BODY, SPEC_TS,
                                NULL),
                         WEBHOOK_BAD_SIGNATURE);
}

static void test_bad_secrets(void **state)
{
        (void)state;
        struct webhook_key k;
        struct hoist_error *err = NULL;
        static const char *const bad[] = {"", "whsec_", "whsec_not base64!", "whsec_abc",
                                          "whsec_YQ=x"};

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                assert_int_equal(webhook_key_parse(bad[i], "HOIST_WEBHOOK_SECRET", &k, &err), -1);
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "HOIST_WEBHOOK_SECRET"));
                if (strlen(bad[i]) > 6)
                        assert_null(strstr(err->msg, bad[i] + 6)); /* the secret is not echoed */
                hoist_error_release(&err);
        }
        /* without the prefix: bare base64, as the reference libraries accept */
        assert_int_equal(webhook_key_parse("YWJj", "x", &k, &err), 0);
        assert_int_equal(k.len, 3);
        assert_memory_equal(k.bytes, "abc", 3);
}

static void test_generate_and_base64(void **state)
{
        (void)state;
        char *a = NULL, *b = NULL, *enc;
        struct hoist_error *err = NULL;
        struct webhook_key k;
        unsigned char out[16];

        assert_int_equal(webhook_secret_generate(&a, &err), 0);
        assert_int_equal(webhook_secret_generate(&b, &err), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(strncmp(a, "whsec_", 6), 0);
        assert_int_equal(webhook_key_parse(a, "generated", &k, &err), 0);
        assert_int_equal(k.len, 32);
        free(a);
        free(b);

        static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                            "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
        for (size_t i = 0; i < 7; i++) {
                enc = webhook_base64_encode(plain[i], strlen(plain[i]));
                assert_string_equal(enc, coded[i]);
                free(enc);
                assert_int_equal(webhook_base64_decode(coded[i], strlen(coded[i]), out, sizeof out),
                                 (int)strlen(plain[i]));
                assert_memory_equal(out, plain[i], strlen(plain[i]));
        }
        assert_int_equal(webhook_base64_decode("Zh==", 4, out, sizeof out), -1); /* stray bits */
        assert_int_equal(webhook_base64_decode("Zm9", 3, out, sizeof out), -1);
        assert_int_equal(webhook_base64_decode("Zm9vYmFy", 8, out, 5), -1); /* no room */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sign_vectors),        cmocka_unit_test(test_verify),
                cmocka_unit_test(test_multiple_signatures), cmocka_unit_test(test_bad_secrets),
                cmocka_unit_test(test_generate_and_base64),
        };
        return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* consent: where the setting comes from, what counts as leaving, and what
 * each mode decides (runner/job/consent.c), with $HOIST_HOME/config.yaml
 * (runner/cli/homeconfig.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/job/consent.h"
#include "runner/cli/homeconfig.h"
#include "runner/control/localserve.h"
#include "xalloc.h"

static struct homeconfig *config_ok(const char *text)
{
        struct homeconfig *hc = NULL;
        struct hoist_error *err = NULL;

        if (homeconfig_parse(text, strlen(text), "/h/config.yaml", &hc, &err) < 0)
                fail_msg("unexpected error: %s", err->msg);
        return hc;
}

static void config_fails(const char *text, const char *want)
{
        struct homeconfig *hc = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(homeconfig_parse(text, strlen(text), "/h/config.yaml", &hc, &err), -1);
        assert_null(hc);
        assert_string_equal(err->msg, want);
}

static void test_homeconfig(void **state)
{
        (void)state;
        _cleanup_homeconfig_ struct homeconfig *empty = config_ok("");
        assert_null(empty->consent);
        _cleanup_homeconfig_ struct homeconfig *comment = config_ok("# nothing yet\n");
        assert_null(comment->consent);
        _cleanup_homeconfig_ struct homeconfig *hc = config_ok("# mine\nconsent: never\n");
        assert_string_equal(hc->consent, "never");
        assert_int_equal(hc->consent_line, 2);
        assert_string_equal(hc->path, "/h/config.yaml");

        config_fails("consnet: never\n", "'/h/config.yaml':1: unknown field 'consnet' (did you "
                                         "mean 'consent'?); valid fields: consent, "
                                         "spending_limits");
        config_fails("consent: sometimes\n", "'/h/config.yaml':1: field 'consent': expected ask, "
                                             "allow or never, got 'sometimes'");
        config_fails("- consent\n", "'/h/config.yaml':1: expected a mapping of settings "
                                    "(consent, spending_limits), got a sequence");
}

static void test_resolve(void **state)
{
        (void)state;
        struct jobfile jf = {.path = (char *)"/j/job.yaml"};
        _cleanup_homeconfig_ struct homeconfig *hc = config_ok("\nconsent: allow\n");
        struct consent_setting s = {0};

        consent_resolve(&jf, NULL, &s);
        assert_int_equal(s.mode, CONSENT_ASK);
        assert_string_equal(s.origin, "the default");
        consent_setting_clear(&s);

        consent_resolve(&jf, hc, &s);
        assert_int_equal(s.mode, CONSENT_ALLOW);
        assert_string_equal(s.origin, "'/h/config.yaml':2");
        consent_setting_clear(&s);

        /* job.yaml wins */
        jf.consent = (char *)"never";
        jf.consent_line = 7;
        consent_resolve(&jf, hc, &s);
        assert_int_equal(s.mode, CONSENT_NEVER);
        assert_string_equal(s.origin, "'/j/job.yaml':7");
        assert_string_equal(consent_mode_name(s.mode), "never");
        consent_setting_clear(&s);
}

static const struct provider_ops remote_provider = {.name = "far", .remote = 1};

static void test_leaving(void **state)
{
        (void)state;
        assert_false(consent_storage_leaves("file:///srv/hoist"));
        assert_false(consent_storage_leaves(LOCALSERVE_URL));
        /* whatever its endpoint's address: hoist cannot know where it is */
        assert_true(consent_storage_leaves("s3://bucket/team"));
        assert_true(consent_storage_leaves("http://127.0.0.1:9000/bucket"));
        assert_false(consent_needed("file:///srv/hoist", &provider_local));
        assert_false(consent_needed(LOCALSERVE_URL, &provider_local));
        assert_true(consent_needed("s3://bucket", &provider_local));
        assert_true(consent_needed("file:///srv/hoist", &remote_provider));
        assert_true(consent_needed(LOCALSERVE_URL, &remote_provider));
}

/* consent_decide() with ANSWER typed on a terminal (NULL: no terminal);
 * returns its result, the error message in *ret_msg and the prompt. */
static int decide(enum consent_mode mode, const char *origin, bool yes, const char *answer,
                  char **ret_msg, char **ret_prompt)
{
        struct consent_setting s = {.mode = mode, .origin = xstrdup(origin)};
        _cleanup_error_ struct hoist_error *err = NULL;
        char *prompt = NULL;
        size_t plen = 0;
        FILE *out = open_memstream(&prompt, &plen);
        FILE *in = fmemopen((void *)(answer ? answer : ""), answer ? strlen(answer) + 1 : 1, "r");
        int r = consent_decide(&s, "storage s3://b/p", yes, answer != NULL, in, out, &err);

        fclose(in);
        fclose(out);
        consent_setting_clear(&s);
        *ret_msg = err ? xstrdup(err->msg) : NULL;
        *ret_prompt = prompt;
        if (err != NULL)
                assert_int_equal(err->code, HOIST_ERR_STATE);
        return r;
}

static void test_decide(void **state)
{
        (void)state;
        char *msg, *prompt;

        assert_int_equal(decide(CONSENT_ALLOW, "the default", false, NULL, &msg, &prompt), 0);
        assert_null(msg);
        assert_string_equal(prompt, "");
        free(prompt);

        /* never: even with --yes */
        assert_int_equal(decide(CONSENT_NEVER, "'/h/config.yaml':1", true, NULL, &msg, &prompt),
                         -1);
        assert_string_equal(msg, "consent is 'never' (set in '/h/config.yaml':1): the job's files "
                                 "would leave this machine for storage s3://b/p; nothing was "
                                 "uploaded (use file:// storage, or set consent: ask or allow)");
        free(msg);
        free(prompt);

        assert_int_equal(decide(CONSENT_ASK, "the default", false, NULL, &msg, &prompt), -1);
        assert_string_equal(msg, "consent is 'ask' (the default) and there is no terminal to ask "
                                 "on: the job's files would leave this machine for storage "
                                 "s3://b/p; nothing was uploaded (agree with 'hoist submit "
                                 "--yes', or set consent: allow in job.yaml or "
                                 "$HOIST_HOME/config.yaml)");
        free(msg);
        free(prompt);

        assert_int_equal(decide(CONSENT_ASK, "the default", true, NULL, &msg, &prompt), 0);
        free(prompt);

        static const char *const yes[] = {"y\n", "Y\n", " yes\n", "YES"};
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(decide(CONSENT_ASK, "the default", false, yes[i], &msg, &prompt),
                                 0);
                assert_string_equal(prompt, "Upload the files above to storage s3://b/p? [y/N] ");
                free(prompt);
        }
        static const char *const no[] = {"\n", "n\n", "yess\n", "", "ja\n"};
        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(
                        decide(CONSENT_ASK, "'/j/job.yaml':3", false, no[i], &msg, &prompt), -1);
                assert_string_equal(msg, "upload to storage s3://b/p declined (consent 'ask', set "
                                         "in '/j/job.yaml':3); nothing was uploaded");
                free(msg);
                free(prompt);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_homeconfig),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_leaving),
                cmocka_unit_test(test_decide),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

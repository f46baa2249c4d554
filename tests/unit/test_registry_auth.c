/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "registry_auth.h"
#include "xalloc.h"

static void test_bearer_challenge(void **state)
{
        (void)state;
        struct registry_challenge *c = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        assert_int_equal(
                registry_auth_parse_challenges("Bearer realm=\"https://auth.docker.io/token\","
                                               "service=\"registry.docker.io\","
                                               "scope=\"repository:samalba/my-app:pull,push\"",
                                               &c, &n, &err),
                0);
        assert_int_equal(n, 1);
        assert_string_equal(c[0].scheme, "bearer");
        assert_string_equal(c[0].realm, "https://auth.docker.io/token");
        assert_string_equal(c[0].service, "registry.docker.io");
        /* the comma inside quotes belongs to the value */
        assert_string_equal(c[0].scope, "repository:samalba/my-app:pull,push");
        assert_null(c[0].error);
        registry_challenges_free(c, n);
}

static void test_escapes_and_case(void **state)
{
        (void)state;
        struct registry_challenge *c = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        assert_int_equal(registry_auth_parse_challenges(
                                 "BASIC  Realm = \"say \\\"hi\\\", \\\\ ok\"", &c, &n, &err),
                         0);
        assert_int_equal(n, 1);
        assert_string_equal(c[0].scheme, "basic");
        assert_string_equal(c[0].realm, "say \"hi\", \\ ok");
        registry_challenges_free(c, n);
}

static void test_multiple_challenges(void **state)
{
        (void)state;
        struct registry_challenge *c = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        assert_int_equal(
                registry_auth_parse_challenges(
                        "Basic realm=\"Registry Realm\", Bearer realm=\"http://127.0.0.1:1/token\","
                        "service=svc,scope=\"repository:a:pull repository:b:pull\","
                        "error=\"insufficient_scope\", Negotiate",
                        &c, &n, &err),
                0);
        assert_int_equal(n, 3);
        assert_string_equal(c[0].scheme, "basic");
        assert_string_equal(c[0].realm, "Registry Realm");
        assert_string_equal(c[1].scheme, "bearer");
        assert_string_equal(c[1].realm, "http://127.0.0.1:1/token");
        assert_string_equal(c[1].service, "svc");
        assert_string_equal(c[1].scope, "repository:a:pull repository:b:pull");
        assert_string_equal(c[1].error, "insufficient_scope");
        assert_string_equal(c[2].scheme, "negotiate");
        assert_null(c[2].realm);
        registry_challenges_free(c, n);
}

static void test_malformed_challenges(void **state)
{
        (void)state;
        static const char *const bad[] = {
                "",
                " , ",
                "realm=\"x\"",
                "Bearer realm=\"unterminated",
                "Bearer realm=\"x\" @",
                "=",
                "Bearer ,=x",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct registry_challenge *c = NULL;
                struct hoist_error *err = NULL;
                size_t n = 0;
                assert_int_equal(registry_auth_parse_challenges(bad[i], &c, &n, &err), -1);
                assert_non_null(err);
                assert_null(c);
                hoist_error_free(err);
        }
}

static void test_token_answer(void **state)
{
        (void)state;
        struct registry_token *t = NULL;
        struct hoist_error *err = NULL;
        static const char a[] = "{\"token\":\"T1\",\"expires_in\":300,\"issued_at\":\"x\"}";
        static const char b[] = "{\"access_token\":\"T2\"}";
        static const char c[] = "{\"expires_in\":3}";

        assert_int_equal(registry_auth_parse_token(a, sizeof a - 1, 1000, &t, &err), 0);
        assert_string_equal(t->token, "T1");
        assert_int_equal(t->expires_at, 1300);
        registry_token_free(t);
        assert_int_equal(registry_auth_parse_token(b, sizeof b - 1, 1000, &t, &err), 0);
        assert_string_equal(t->token, "T2");
        assert_int_equal(t->expires_at, 1060); /* 60 s when the server says nothing */
        registry_token_free(t);
        assert_int_equal(registry_auth_parse_token(c, sizeof c - 1, 1000, &t, &err), -1);
        assert_non_null(strstr(err->msg, "token"));
        hoist_error_release(&err);
        assert_int_equal(registry_auth_parse_token("[", 1, 1000, &t, &err), -1);
        hoist_error_release(&err);
}

static void test_token_url(void **state)
{
        (void)state;
        const char *scopes[] = {"repository:a/b:pull,push", "repository:c:pull"};
        _cleanup_free_ char *u1 = registry_auth_token_url("http://h/token", "my svc", scopes, 2);
        _cleanup_free_ char *u2 = registry_auth_token_url("http://h/token?x=1", NULL, scopes, 1);

        assert_string_equal(u1,
                            "http://h/token?service=my%20svc&scope=repository%3Aa%2Fb%3Apull%2Cpush"
                            "&scope=repository%3Ac%3Apull");
        assert_string_equal(u2, "http://h/token?x=1&scope=repository%3Aa%2Fb%3Apull%2Cpush");
}

static void test_base64(void **state)
{
        (void)state;
        size_t len = 0;
        struct registry_creds c = {.username = (char *)"alice", .password = (char *)"s3:cret"};
        _cleanup_free_ char *b = registry_auth_basic(&c);
        _cleanup_free_ char *d = registry_base64_decode(b, &len);
        _cleanup_free_ char *one = registry_base64_decode("YQ==", &len);

        assert_string_equal(b, "YWxpY2U6czM6Y3JldA==");
        assert_string_equal(d, "alice:s3:cret");
        assert_string_equal(one, "a");
        assert_int_equal(len, 1);
        assert_null(registry_base64_decode("abc", NULL));
        assert_null(registry_base64_decode("ab!=", NULL));
}

/* ---- credential lookup, in a temporary HOME ---- */

static char tmpdir[64];

static int setup_dir(void **state)
{
        (void)state;
        strcpy(tmpdir, "/tmp/hoist-test-regauth.XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        setenv("HOME", tmpdir, 1);
        unsetenv("DOCKER_CONFIG");
        unsetenv("REGISTRY_AUTH_FILE");
        unsetenv("XDG_RUNTIME_DIR");
        unsetenv("HOIST_REGISTRY_USER");
        unsetenv("HOIST_REGISTRY_PASSWORD");
        return 0;
}

static int teardown_dir(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        assert_int_equal(fs_remove_tree(tmpdir, &err), 0);
        return 0;
}

static void write_file(const char *rel, const char *text, mode_t mode)
{
        struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(tmpdir, rel);
        _cleanup_free_ char *dir = xstrdup(path);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, &err), 0);
        assert_int_equal(fs_write_file_atomic(path, text, strlen(text), mode, &err), 0);
}

static void expect_creds(const char *host, const char *user, const char *pass)
{
        struct registry_creds *c = NULL;
        struct hoist_error *err = NULL;
        int r = registry_auth_lookup(host, &c, &err);

        if (r < 0)
                fail_msg("lookup %s: %s", host, err->msg);
        if (user == NULL) {
                assert_int_equal(r, 0);
                return;
        }
        assert_int_equal(r, 1);
        assert_string_equal(c->username, user);
        assert_string_equal(c->password, pass);
        if (strlen(pass) > 3) /* the source names a file, never the secret */
                assert_null(strstr(c->source, pass));
        registry_creds_free(c);
}

static void test_docker_config_auths(void **state)
{
        (void)state;
        /* alice:pw1, bob:pw:2 */
        write_file(".docker/config.json",
                   "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cHcx\"},"
                   "\"https://index.docker.io/v1/\":{\"auth\":\"Ym9iOnB3OjI=\"},"
                   "\"reg.example:443\":{\"username\":\"u\",\"password\":\"p\"}}}",
                   0600);
        expect_creds("127.0.0.1:5000", "alice", "pw1");
        expect_creds("docker.io", "bob", "pw:2");
        expect_creds("registry-1.docker.io", "bob", "pw:2");
        expect_creds("reg.example:443", "u", "p");
        expect_creds("127.0.0.1:5001", NULL, NULL);
        expect_creds("127.0.0.1", NULL, NULL);

        /* DOCKER_CONFIG moves it */
        _cleanup_free_ char *dc = path_join(tmpdir, "dc");
        setenv("DOCKER_CONFIG", dc, 1);
        expect_creds("127.0.0.1:5000", NULL, NULL);
        write_file("dc/config.json",
                   "{\"auths\":{\"http://127.0.0.1:5000/v2/\":{\"auth\":\"eDp5\"}}}", 0600);
        expect_creds("127.0.0.1:5000", "x", "y");
        unsetenv("DOCKER_CONFIG");
}

static void test_auth_file_order(void **state)
{
        (void)state;
        _cleanup_free_ char *xdg = path_join(tmpdir, "run");
        _cleanup_free_ char *raf = path_join(tmpdir, "raf.json");

        write_file(".docker/config.json", "{\"auths\":{\"h:1\":{\"auth\":\"ZDpk\"}}}", 0600);
        write_file("run/containers/auth.json", "{\"auths\":{\"h:1\":{\"auth\":\"Yzpj\"}}}", 0600);
        write_file("raf.json", "{\"auths\":{\"h:1/ns/repo\":{\"auth\":\"cjpy\"}}}", 0600);
        expect_creds("h:1", "d", "d");
        setenv("XDG_RUNTIME_DIR", xdg, 1);
        expect_creds("h:1", "c", "c");
        setenv("REGISTRY_AUTH_FILE", raf, 1);
        expect_creds("h:1", "r", "r");
        setenv("HOIST_REGISTRY_USER", "e", 1);
        setenv("HOIST_REGISTRY_PASSWORD", "e", 1);
        expect_creds("h:1", "e", "e");
        unsetenv("HOIST_REGISTRY_USER");
        unsetenv("HOIST_REGISTRY_PASSWORD");
        unsetenv("REGISTRY_AUTH_FILE");
        unsetenv("XDG_RUNTIME_DIR");
}

static void test_broken_files(void **state)
{
        (void)state;
        struct registry_creds *c = NULL;
        struct hoist_error *err = NULL;

        write_file(".docker/config.json", "{\"auths\":", 0600);
        assert_int_equal(registry_auth_lookup("h:1", &c, &err), -1);
        assert_non_null(strstr(err->msg, "config.json"));
        hoist_error_release(&err);
        write_file(".docker/config.json", "{\"auths\":{\"h:1\":{\"auth\":\"bm9jb2xvbg==\"}}}",
                   0600);
        assert_int_equal(registry_auth_lookup("h:1", &c, &err), -1);
        assert_non_null(strstr(err->msg, "user:password"));
        hoist_error_release(&err);
}

static void test_cred_helpers(void **state)
{
        (void)state;
        struct registry_creds *c = NULL;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *bin = path_join(tmpdir, "bin");
        _cleanup_free_ char *path = xasprintf("%s:%s", bin, getenv("PATH"));
        _cleanup_free_ char *old_path = xstrdup(getenv("PATH"));

        /* answers for h:1 only, and for docker.io's historical server URL */
        write_file(
                "bin/docker-credential-x",
                "#!/bin/sh\n"
                "read s\n"
                "[ \"$1\" = get ] || exit 3\n"
                "case $s in\n"
                "h:1) echo '{\"ServerURL\":\"h:1\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
                "https://index.docker.io/v1/) echo '{\"Username\":\"du\",\"Secret\":\"ds\"}' ;;\n"
                "bad) echo 'not json' ;;\n"
                "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
                "esac\n",
                0755);
        setenv("PATH", path, 1);
        write_file(".docker/config.json",
                   "{\"credHelpers\":{\"h:1\":\"x\",\"bad\":\"x\",\"gone:1\":\"missing\"}}", 0600);
        expect_creds("h:1", "hu", "hs");
        expect_creds("other:1", NULL, NULL);
        assert_int_equal(registry_auth_lookup("bad", &c, &err), -1);
        assert_non_null(strstr(err->msg, "docker-credential-x"));
        hoist_error_release(&err);
        assert_int_equal(registry_auth_lookup("gone:1", &c, &err), -1);
        assert_non_null(strstr(err->msg, "docker-credential-missing"));
        hoist_error_release(&err);

        /* credsStore: every host goes to the store, which may know nothing */
        write_file(".docker/config.json", "{\"auths\":{\"docker.io\":{}},\"credsStore\":\"x\"}",
                   0600);
        expect_creds("docker.io", "du", "ds");
        expect_creds("h:1", "hu", "hs");
        expect_creds("nope:2", NULL, NULL);
        setenv("PATH", old_path, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bearer_challenge),
                cmocka_unit_test(test_escapes_and_case),
                cmocka_unit_test(test_multiple_challenges),
                cmocka_unit_test(test_malformed_challenges),
                cmocka_unit_test(test_token_answer),
                cmocka_unit_test(test_token_url),
                cmocka_unit_test(test_base64),
                cmocka_unit_test_setup_teardown(test_docker_config_auths, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_auth_file_order, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_broken_files, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_cred_helpers, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests_name("registry_auth", tests, NULL, NULL);
}

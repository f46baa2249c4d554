/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "s3creds.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/hoist-s3creds-XXXXXX";

static void write_file(const char *name, const char *text)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmpdir, name);
        FILE *f = fopen(p, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Only what a test sets: no variable of this machine leaks in, and IMDS is
 * never asked. */
static void clean_env(void)
{
        static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                           "AWS_SECRET_ACCESS_KEY",
                                           "AWS_SESSION_TOKEN",
                                           "AWS_PROFILE",
                                           "AWS_DEFAULT_PROFILE",
                                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                           "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                           "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                           "AWS_WEB_IDENTITY_TOKEN_FILE",
                                           "AWS_ROLE_ARN",
                                           "AWS_ENDPOINT_URL_STS",
                                           "AWS_EC2_METADATA_SERVICE_ENDPOINT"};
        _cleanup_free_ char *cred = xasprintf("%s/credentials", tmpdir);
        _cleanup_free_ char *config = xasprintf("%s/config", tmpdir);

        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
                unsetenv(vars[i]);
        setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
        setenv("AWS_CONFIG_FILE", config, 1);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("HOME", tmpdir, 1);
}

static int setup(void **state)
{
        (void)state;
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_expiring(void **state)
{
        (void)state;
        struct s3_credentials c = {.expiration = 0};

        assert_false(s3_credentials_expiring(&c, 1000000));
        c.expiration = 10000;
        assert_false(s3_credentials_expiring(&c, 10000 - S3CREDS_REFRESH_MARGIN - 1));
        assert_true(s3_credentials_expiring(&c, 10000 - S3CREDS_REFRESH_MARGIN));
        assert_true(s3_credentials_expiring(&c, 20000));
}

static void test_iso8601(void **state)
{
        (void)state;
        time_t t = 0;

        assert_int_equal(s3_parse_iso8601("1970-01-02T00:00:00Z", &t), 0);
        assert_int_equal(t, 86400);
        assert_int_equal(s3_parse_iso8601("2024-05-01T12:00:00.123Z", &t), 0);
        assert_int_equal(t, 1714564800);
        assert_int_equal(s3_parse_iso8601("2024-05-01T12:00:00+00:00", &t), 0);
        assert_int_equal(s3_parse_iso8601("2024-05-01 12:00:00", &t), -1);
        assert_int_equal(s3_parse_iso8601("2024-05-01T12:00:00+02:00", &t), -1);
        assert_int_equal(s3_parse_iso8601("soon", &t), -1);
}

static void test_env_first(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = NULL;
        struct hoist_error *err = NULL;
        const struct s3_credentials *c;

        clean_env();
        write_file("credentials", "[default]\naws_access_key_id = FILEKEY\n"
                                  "aws_secret_access_key = filesecret\n");
        setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
        setenv("AWS_SESSION_TOKEN", "envtoken", 1);
        p = s3_creds_provider_new();
        c = s3_creds_get(p, &err);
        assert_non_null(c);
        assert_string_equal(c->access_key_id, "ENVKEY");
        assert_string_equal(c->secret_access_key, "envsecret");
        assert_string_equal(c->session_token, "envtoken");
        assert_string_equal(c->source, "environment");
}

static void test_profiles(void **state)
{
        (void)state;
        struct s3_profile prof = {0};
        struct hoist_error *err = NULL;
        _cleanup_free_ char *cred = xasprintf("%s/credentials", tmpdir);
        _cleanup_free_ char *config = xasprintf("%s/config", tmpdir);

        write_file("credentials", "# comment\n[default]\naws_access_key_id=DEF\n"
                                  "aws_secret_access_key=defsecret\n\n"
                                  "[work]\n  aws_access_key_id = WORK \n"
                                  "aws_secret_access_key = worksecret\n"
                                  "aws_session_token = worktoken\n");
        write_file("config", "[default]\nregion = eu-west-1\n"
                             "[profile work]\nregion = us-west-2\n"
                             "aws_access_key_id = IGNORED\n"
                             "s3 =\n  addressing_style = path\n  endpoint_url = http://s3.local\n"
                             "endpoint_url = http://generic.local\n"
                             "[work]\nregion = not-this-one\n");
        assert_int_equal(s3_profile_read(cred, config, "work", &prof, &err), 1);
        assert_string_equal(prof.access_key_id, "WORK");
        assert_string_equal(prof.secret_access_key, "worksecret");
        assert_string_equal(prof.session_token, "worktoken");
        assert_string_equal(prof.region, "us-west-2");
        assert_string_equal(prof.addressing_style, "path");
        assert_string_equal(prof.endpoint_url, "http://s3.local");
        s3_profile_clear(&prof);

        assert_int_equal(s3_profile_read(cred, config, "default", &prof, &err), 1);
        assert_string_equal(prof.access_key_id, "DEF");
        assert_string_equal(prof.region, "eu-west-1");
        assert_null(prof.session_token);
        s3_profile_clear(&prof);

        assert_int_equal(s3_profile_read(cred, config, "absent", &prof, &err), 0);
        s3_profile_clear(&prof);
        assert_int_equal(s3_profile_read("/nonexistent/c", NULL, "default", &prof, &err), 0);
        s3_profile_clear(&prof);
}

static void test_profile_from_env(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = NULL;
        struct hoist_error *err = NULL;
        const struct s3_credentials *c;

        clean_env();
        write_file("credentials", "[other]\naws_access_key_id = OTHER\n"
                                  "aws_secret_access_key = othersecret\n");
        write_file("config", "");
        setenv("AWS_PROFILE", "other", 1);
        p = s3_creds_provider_new();
        c = s3_creds_get(p, &err);
        assert_non_null(c);
        assert_string_equal(c->access_key_id, "OTHER");
        assert_string_equal(c->source, "shared files");
}

static void test_no_credentials(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = NULL;
        struct hoist_error *err = NULL;

        clean_env();
        write_file("credentials", "[default]\nregion = x\n");
        p = s3_creds_provider_new();
        assert_null(s3_creds_get(p, &err));
        assert_non_null(err);
        assert_non_null(strstr(err->msg, "no AWS credentials"));
        hoist_error_free(err);
}

static void test_container_refuses_remote_http(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = NULL;
        struct hoist_error *err = NULL;

        clean_env();
        write_file("credentials", "");
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer secret-token", 1);
        p = s3_creds_provider_new();
        assert_null(s3_creds_get(p, &err));
        assert_non_null(err);
        assert_non_null(strstr(err->msg, "plain http"));
        assert_null(strstr(err->msg, "secret-token"));
        hoist_error_free(err);
}

/* ---- a loopback peer for the HTTP providers ---- */

static const char server_py[] =
        "import http.server, json, sys, os\n"
        "EXP = '2099-01-01T00:00:00Z'\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def log_message(self, *a): pass\n"
        "    def send(self, code, body, ctype='text/plain'):\n"
        "        b = body.encode()\n"
        "        self.send_response(code)\n"
        "        self.send_header('Content-Type', ctype)\n"
        "        self.send_header('Content-Length', str(len(b)))\n"
        "        self.end_headers(); self.wfile.write(b)\n"
        "    def do_PUT(self):\n"
        "        if self.path == '/latest/api/token' and "
        "self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):\n"
        "            return self.send(200, 'IMDSTOKEN')\n"
        "        self.send(400, 'bad')\n"
        "    def do_GET(self):\n"
        "        p = self.path\n"
        "        if p.startswith('/latest/'):\n"
        "            if self.headers.get('X-aws-ec2-metadata-token') != 'IMDSTOKEN':\n"
        "                return self.send(401, 'no token')\n"
        "            if p == '/latest/meta-data/iam/security-credentials/':\n"
        "                return self.send(200, 'role1')\n"
        "            if p == '/latest/meta-data/iam/security-credentials/role1':\n"
        "                return self.send(200, json.dumps({'Code': 'Success', "
        "'AccessKeyId': 'IMDSKEY', 'SecretAccessKey': 'imdssecret', 'Token': 'imdstok', "
        "'Expiration': EXP}))\n"
        "        if p == '/container/creds':\n"
        "            if self.headers.get('Authorization') != 'Bearer ctok':\n"
        "                return self.send(403, 'denied')\n"
        "            return self.send(200, json.dumps({'AccessKeyId': 'CKEY', "
        "'SecretAccessKey': 'csecret', 'Token': 'ctoken', 'Expiration': EXP}))\n"
        "        self.send(404, 'nope')\n"
        "    def do_POST(self):\n"
        "        n = int(self.headers.get('Content-Length', 0))\n"
        "        body = self.rfile.read(n).decode()\n"
        "        if 'Action=AssumeRoleWithWebIdentity' in body and "
        "'WebIdentityToken=jwt.token.value' in body and 'RoleArn=arn%3Aaws%3Aiam' in body:\n"
        "            return self.send(200, '<AssumeRoleWithWebIdentityResponse "
        "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
        "<Credentials><AccessKeyId>STSKEY</AccessKeyId><SecretAccessKey>stssecret"
        "</SecretAccessKey><SessionToken>ststoken</SessionToken><Expiration>' + EXP + "
        "'</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
        "</AssumeRoleWithWebIdentityResponse>', 'text/xml')\n"
        "        self.send(400, '<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
        "<Message>bad token</Message></Error></ErrorResponse>', 'text/xml')\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "print(s.server_address[1], flush=True)\n"
        "s.serve_forever()\n";

static pid_t server_pid = -1;
static int server_port;

static void server_start(void)
{
        int out[2];

        if (server_pid > 0)
                return;
        assert_int_equal(pipe(out), 0);
        server_pid = fork();
        assert_true(server_pid >= 0);
        if (server_pid == 0) {
                dup2(out[1], 1);
                close(out[0]);
                execlp("python3", "python3", "-c", server_py, (char *)NULL);
                _exit(127);
        }
        close(out[1]);
        FILE *f = fdopen(out[0], "r");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &server_port), 1);
        fclose(f);
}

static int server_teardown(void **state)
{
        if (server_pid > 0) {
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
                server_pid = -1;
        }
        return teardown(state);
}

static void expect_creds(const char *key, const char *secret, const char *token, const char *source)
{
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = s3_creds_provider_new();
        struct hoist_error *err = NULL;
        const struct s3_credentials *c = s3_creds_get(p, &err);

        if (c == NULL)
                fail_msg("%s", err->msg);
        assert_string_equal(c->access_key_id, key);
        assert_string_equal(c->secret_access_key, secret);
        assert_string_equal(c->session_token, token);
        assert_string_equal(c->source, source);
        assert_int_equal(c->expiration, 4070908800);
        /* Valid until 2099: the second call does not ask again. */
        assert_ptr_equal(s3_creds_get(p, &err), c);
}

static void test_container(void **state)
{
        (void)state;
        _cleanup_free_ char *url = NULL;

        server_start();
        clean_env();
        write_file("credentials", "");
        url = xasprintf("http://127.0.0.1:%d/container/creds", server_port);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ctok", 1);
        expect_creds("CKEY", "csecret", "ctoken", "container");

        /* The token from a file (EKS Pod Identity) wins over the variable. */
        write_file("ctoken", "Bearer ctok\n");
        _cleanup_free_ char *tf = xasprintf("%s/ctoken", tmpdir);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
        expect_creds("CKEY", "csecret", "ctoken", "container");
}

static void test_container_denied(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = NULL;
        _cleanup_free_ char *url = NULL;
        struct hoist_error *err = NULL;

        server_start();
        clean_env();
        url = xasprintf("http://127.0.0.1:%d/container/creds", server_port);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer nope-secret", 1);
        p = s3_creds_provider_new();
        assert_null(s3_creds_get(p, &err));
        assert_non_null(strstr(err->msg, "HTTP 403"));
        assert_null(strstr(err->msg, "nope-secret"));
        hoist_error_free(err);
}

static void test_web_identity(void **state)
{
        (void)state;
        _cleanup_free_ char *url = NULL, *tf = NULL;

        server_start();
        clean_env();
        write_file("credentials", "");
        write_file("jwt", "jwt.token.value\n");
        tf = xasprintf("%s/jwt", tmpdir);
        url = xasprintf("http://127.0.0.1:%d/", server_port);
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tf, 1);
        setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/trainer", 1);
        setenv("AWS_ENDPOINT_URL_STS", url, 1);
        expect_creds("STSKEY", "stssecret", "ststoken", "web identity");

        /* A refused token: STS's code and message, never the token. */
        struct hoist_error *err = NULL;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p = s3_creds_provider_new();
        write_file("jwt", "another.jwt\n");
        assert_null(s3_creds_get(p, &err));
        assert_non_null(strstr(err->msg, "400 InvalidIdentityToken: bad token"));
        assert_null(strstr(err->msg, "another.jwt"));
        hoist_error_free(err);
}

static void test_imds(void **state)
{
        (void)state;
        _cleanup_free_ char *url = NULL;

        server_start();
        clean_env();
        write_file("credentials", "");
        url = xasprintf("http://127.0.0.1:%d", server_port);
        unsetenv("AWS_EC2_METADATA_DISABLED");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
        expect_creds("IMDSKEY", "imdssecret", "imdstok", "instance metadata");
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void test_static(void **state)
{
        (void)state;
        _cleanup_s3_creds_provider_ struct s3_creds_provider *p =
                s3_creds_provider_static("AK", "SK", NULL);
        struct hoist_error *err = NULL;
        const struct s3_credentials *c = s3_creds_get(p, &err);

        assert_non_null(c);
        assert_string_equal(c->access_key_id, "AK");
        assert_null(c->session_token);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_expiring),
                cmocka_unit_test(test_iso8601),
                cmocka_unit_test(test_env_first),
                cmocka_unit_test(test_profiles),
                cmocka_unit_test(test_profile_from_env),
                cmocka_unit_test(test_no_credentials),
                cmocka_unit_test(test_container_refuses_remote_http),
                cmocka_unit_test(test_container),
                cmocka_unit_test(test_container_denied),
                cmocka_unit_test(test_web_identity),
                cmocka_unit_test(test_imds),
                cmocka_unit_test(test_static),
        };
        return cmocka_run_group_tests(tests, setup, server_teardown);
}

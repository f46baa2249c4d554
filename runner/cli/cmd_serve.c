/* SPDX-License-Identifier: MIT */
/*
 * hoist serve: the built-in S3 endpoint, the webhook receiver and the
 * control plane (and, later, the API and dashboard).  Signals are blocked
 * before the HTTP threads start, so only sigwait() here sees SIGTERM/SIGINT
 * and shutdown is orderly: stop the control plane, stop accepting, finish
 * the requests in flight, remove serve.json.
 *
 * The control plane is a child process forked before any thread exists:
 * single-threaded, with the signal mask and dispositions a job it starts
 * must inherit (none blocked), it makes a pass over every active job once
 * a second (reconcile_pass(): retries, final states, key revocation),
 * applying what storage holds at once and asking each job's provider at
 * that provider's poll_ms, backing off while it fails.  All its state is
 * in the job store, so a restarted serve carries on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "fsutil.h"
#include "runner/cli/home.h"
#include "runner/control/localserve.h"
#include "log.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "runner/serve/api.h"
#include "runner/serve/apitoken.h"
#include "runner/serve/hooks.h"
#include "runner/serve/keys.h"
#include "runner/serve/objstore.h"
#include "runner/serve/s3.h"
#include "runner/serve/s3err.h"
#include "runner/serve/server.h"
#include "xalloc.h"

#define DEFAULT_LISTEN "127.0.0.1:9000"
#define DEFAULT_KEY_TTL 86400
/* How often the control plane looks at every active job. */
#define RECONCILE_PERIOD_MS 1000
/* How long a shutdown waits for the control plane to finish its pass. */
#define RECONCILE_STOP_MS 20000
#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
        "usage: hoist serve [--listen ADDR:PORT [--tls-cert FILE --tls-key FILE]] [--root DIR]\n"
        "                   [--print-credentials] [--open] [--max-per-address N]\n"
        "                   [--max-connections N] [--head-timeout SECONDS]\n"
        "       hoist serve --print-token\n"
        "       hoist serve --issue-key JOB-ID [--ttl SECONDS]\n"
        "       hoist serve --stop\n"
        "\n"
        "Runs an S3-compatible endpoint (path-style, SigV4) on this machine, with a\n"
        "bucket 'hoist'.  The owner key is generated into $HOIST_HOME/serve/owner.json\n"
        "on first start.  While it runs, $HOIST_HOME/serve/serve.json names its pid\n"
        "and endpoint.\n"
        "\n"
        "It also serves a REST API under /api/v1 (docs/api.md; its OpenAPI document\n"
        "is /api/v1/openapi.json).  Every API request carries 'Authorization: Bearer\n"
        "TOKEN' with the token made on first start into $HOIST_HOME/serve/api.token\n"
        "(mode 0600).\n"
        "\n"
        "  --listen ADDR:PORT     address to bind (default " DEFAULT_LISTEN "; port 0 picks\n"
        "                         a free one); an address off loopback needs TLS\n"
        "  --tls-cert FILE        serve HTTPS with this PEM certificate (chain), for jobs\n"
        "                         that run on other machines; this machine's own hoist\n"
        "                         then uses a second, plain listener on 127.0.0.1\n"
        "  --tls-key FILE         the certificate's PEM private key\n"
        "  --root DIR             where objects live (default $HOIST_HOME/serve/data)\n"
        "  --print-credentials    print the owner's access and secret key at start\n"
        "  --print-token          print the REST API's token (made if there is none\n"
        "                         yet) and exit\n"
        "  --open                 print the dashboard's address with the API token in\n"
        "                         its fragment (#token=...; it signs the browser in\n"
        "                         once); when a hoist serve of this $HOIST_HOME already\n"
        "                         runs, print its address and exit\n"
        "  --access-key KEY       the owner's access key (env HOIST_S3_ACCESS_KEY)\n"
        "  --secret-key SECRET    the owner's secret key (env HOIST_S3_SECRET_KEY)\n"
        "  --issue-key JOB-ID     print a new key that may read and write jobs/JOB-ID/\n"
        "                         and read blobs/ in bucket 'hoist', and exit\n"
        "  --ttl SECONDS          lifetime of an issued key (default 86400)\n"
        "  --stop                 stop the endpoint of this $HOIST_HOME (the one\n"
        "                         hoist submit started) and exit\n"
        "  --webhook-allow CIDR   accept POST /hooks/events and /api/webhooks/replicate\n"
        "                         only from this IPv4 network (repeatable; default:\n"
        "                         any source)\n"
        "  --max-per-address N    connections open at once from one IP address\n"
        "                         (default " STR(
                SERVE_DEFAULT_MAX_PER_ADDRESS) "); more are refused\n"
                                               "  --max-connections N    connections open at once "
                                               "in all (default: what the\n"
                                               "                         open-file limit allows, "
                                               "raised to its hard limit)\n"
                                               "  --head-timeout SECONDS a client must send a "
                                               "whole request head within this\n"
                                               "                         (default " STR(
                                                       SERVE_DEFAULT_HEAD_TIMEOUT_S) "); slower "
                                                                                     "ones are "
                                                                                     "dropped\n"
                                                                                     "  -h, --help "
                                                                                     "            "
                                                                                     "show this "
                                                                                     "help\n";

struct serve_args {
        const char *listen;
        const char *root;
        const char *access_key;
        const char *secret_key;
        const char *issue_job;
        const char *tls_cert; /* --tls-cert */
        const char *tls_key;  /* --tls-key */
        unsigned long ttl;
        bool print_credentials;
        bool open;                /* --open */
        bool stop;                /* --stop */
        bool print_token;         /* --print-token */
        struct hooks_cidr *allow; /* --webhook-allow */
        size_t n_allow;
        struct serve_limits limits; /* --max-per-address, --max-connections, --head-timeout */
};

static int parse_count(const char *s, const char *flag, unsigned long min, unsigned long max,
                       unsigned *ret, struct hoist_error **err)
{
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max)
                return cli_usage_error(err, "serve", "%s needs a whole number %lu-%lu, not '%s'",
                                       flag, min, max, s);
        *ret = (unsigned)v;
        return 0;
}

static int parse_args(int argc, char **argv, struct serve_args *a, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"listen", required_argument, NULL, 'l'},
                {"root", required_argument, NULL, 'r'},
                {"print-credentials", no_argument, NULL, 'p'},
                {"open", no_argument, NULL, 'O'},
                {"access-key", required_argument, NULL, 'a'},
                {"secret-key", required_argument, NULL, 's'},
                {"issue-key", required_argument, NULL, 'i'},
                {"ttl", required_argument, NULL, 't'},
                {"webhook-allow", required_argument, NULL, 'w'},
                {"stop", no_argument, NULL, 'S'},
                {"print-token", no_argument, NULL, 'T'},
                {"tls-cert", required_argument, NULL, 'C'},
                {"tls-key", required_argument, NULL, 'K'},
                {"max-per-address", required_argument, NULL, 'P'},
                {"max-connections", required_argument, NULL, 'M'},
                {"head-timeout", required_argument, NULL, 'H'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        char *end;
        int c;

        *a = (struct serve_args){.listen = DEFAULT_LISTEN,
                                 .access_key = getenv("HOIST_S3_ACCESS_KEY"),
                                 .secret_key = getenv("HOIST_S3_SECRET_KEY"),
                                 .ttl = DEFAULT_KEY_TTL};
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        a->listen = optarg;
                        break;
                case 'r':
                        a->root = optarg;
                        break;
                case 'p':
                        a->print_credentials = true;
                        break;
                case 'O':
                        a->open = true;
                        break;
                case 'a':
                        a->access_key = optarg;
                        break;
                case 's':
                        a->secret_key = optarg;
                        break;
                case 'i':
                        a->issue_job = optarg;
                        break;
                case 't':
                        a->ttl = strtoul(optarg, &end, 10);
                        if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || a->ttl < 1 ||
                            a->ttl > 604800)
                                return cli_usage_error(err, "serve",
                                                       "--ttl needs seconds (1-604800), not '%s'",
                                                       optarg);
                        break;
                case 'w':
                        a->allow = xreallocarray(a->allow, a->n_allow + 1, sizeof *a->allow);
                        if (hooks_cidr_parse(optarg, &a->allow[a->n_allow], err) < 0)
                                return -1;
                        a->n_allow++;
                        break;
                case 'S':
                        a->stop = true;
                        break;
                case 'T':
                        a->print_token = true;
                        break;
                case 'C':
                        a->tls_cert = optarg;
                        break;
                case 'K':
                        a->tls_key = optarg;
                        break;
                case 'P':
                        if (parse_count(optarg, "--max-per-address", 1, 1000000,
                                        &a->limits.max_per_address, err) < 0)
                                return -1;
                        break;
                case 'M':
                        if (parse_count(optarg, "--max-connections", 16, 10000000,
                                        &a->limits.max_connections, err) < 0)
                                return -1;
                        break;
                case 'H':
                        if (parse_count(optarg, "--head-timeout", 1, 3600,
                                        &a->limits.head_timeout_s, err) < 0)
                                return -1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                default:
                        return cli_usage_error(err, "serve", "unknown option");
                }
        }
        if (optind != argc)
                return cli_usage_error(err, "serve", "unexpected argument '%s'", argv[optind]);
        if (a->access_key != NULL && a->access_key[0] == '\0')
                a->access_key = NULL;
        if (a->secret_key != NULL && a->secret_key[0] == '\0')
                a->secret_key = NULL;
        if ((a->tls_cert == NULL) != (a->tls_key == NULL))
                return cli_usage_error(err, "serve", "--tls-cert and --tls-key go together");
        return 0;
}

/* An address other machines reach carries keys and data: only over TLS. */
static int check_listen(const struct serve_args *a, const char *host, struct hoist_error **err)
{
        if (a->tls_cert != NULL || serve_host_is_loopback(host))
                return 0;
        return cli_usage_error(err, "serve",
                               "--listen '%s' is reachable from other machines and would carry "
                               "keys and data in the clear; add --tls-cert FILE and --tls-key "
                               "FILE (PEM), or listen on 127.0.0.1",
                               a->listen);
}

/* The PEM files of --tls-cert and --tls-key. */
static int read_tls(const struct serve_args *a, char **ret_cert, char **ret_key,
                    struct hoist_error **err)
{
        _cleanup_free_ char *cert = NULL;
        char *key = NULL;
        size_t len = 0;

        if (fs_read_file(a->tls_cert, &cert, &len, err) < 0)
                return hoist_error_wrap(err, "--tls-cert '%s'", a->tls_cert);
        if (fs_read_file(a->tls_key, &key, &len, err) < 0)
                return hoist_error_wrap(err, "--tls-key '%s'", a->tls_key);
        if (strstr(cert, "-----BEGIN CERTIFICATE-----") == NULL) {
                explicit_bzero(key, len);
                free(key);
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "--tls-cert '%s' holds no PEM certificate", a->tls_cert);
        }
        if (strstr(key, "PRIVATE KEY-----") == NULL) {
                explicit_bzero(key, len);
                free(key);
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "--tls-key '%s' holds no PEM private key", a->tls_key);
        }
        *ret_cert = TAKE_PTR(cert);
        *ret_key = key;
        return 0;
}

/* The dashboard's address; with TOKEN, one that signs a browser in: the
 * token rides in the fragment, which browsers never send to a server, so it
 * reaches no request line and no log; the page moves it to sessionStorage
 * (docs/dashboard.md).  Printed to stdout only, on request (--open). */
static void print_dashboard(const char *endpoint, const char *token)
{
        if (token != NULL)
                printf("hoist serve: dashboard %s/#token=%s\n", endpoint, token);
        else
                printf("hoist serve: dashboard %s/ (hoist serve --open prints an address that "
                       "signs in)\n",
                       endpoint);
}

/* --open with a hoist serve of this $HOIST_HOME running: its address. */
static int open_running(const struct hoist_home *home, const char *serve_dir, bool *ret_done,
                        struct hoist_error **err)
{
        _cleanup_free_ char *endpoint = NULL, *token = NULL;

        *ret_done = false;
        if (!localserve_find(home, &endpoint))
                return 0;
        if (apitoken_load(serve_dir, &token, err) < 0)
                return hoist_error_wrap(err, "the API token for --open");
        print_dashboard(endpoint, token);
        explicit_bzero(token, strlen(token));
        *ret_done = true;
        return fflush(stdout) == 0 ? 0 : hoist_error_errno(err, "write to stdout");
}

static int issue_key(const char *serve_dir, const struct serve_args *a, struct hoist_error **err)
{
        _cleanup_free_ char *prefix = NULL, *access = NULL, *secret = NULL;

        if (!serve_job_id_valid(a->issue_job))
                return cli_usage_error(err, "serve",
                                       "job id '%s' must be 1-128 of A-Z a-z 0-9 . _ -",
                                       a->issue_job);
        prefix = xasprintf("jobs/%s/", a->issue_job);
        if (serve_keys_issue(serve_dir, prefix, (unsigned)a->ttl, 0, &access, &secret, err) < 0)
                return -1;
        printf("access_key=%s\nsecret_key=%s\nprefix=%s\nexpires_in=%lu\n", access, secret, prefix,
               a->ttl);
        memset(secret, 0, strlen(secret));
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

static int print_token(const char *serve_dir, struct hoist_error **err)
{
        _cleanup_free_ char *token = NULL;

        if (apitoken_load(serve_dir, &token, err) < 0)
                return -1;
        printf("%s\n", token);
        explicit_bzero(token, strlen(token));
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

static int write_serve_json(const char *path, const char *endpoint, const char *tls_endpoint,
                            struct hoist_error **err)
{
        json_auto_t *j = json_object();
        _cleanup_free_ char *text = NULL;

        (void)json_object_set_new(j, "pid", json_integer((json_int_t)getpid()));
        (void)json_object_set_new(j, "endpoint", json_string(endpoint));
        if (tls_endpoint != NULL)
                (void)json_object_set_new(j, "tls_endpoint", json_string(tls_endpoint));
        (void)json_object_set_new(j, "bucket", json_string(SERVE_DEFAULT_BUCKET));
        text = json_dumps(j, JSON_INDENT(2));
        if (text == NULL)
                return hoist_error_make(err, EINVAL, "serve.json does not encode");
        return fs_write_file_atomic(path, text, strlen(text), 0644, err);
}

static int ensure_default_bucket(struct objstore *os, struct hoist_error **err)
{
        int rc = objstore_bucket_create(os, SERVE_DEFAULT_BUCKET, err);

        if (rc >= 0)
                return 0;
        if (s3err_from_rc(rc) == S3ERR_BUCKET_ALREADY_OWNED) {
                hoist_error_release(err);
                return 0;
        }
        return hoist_error_wrap(err, "create bucket '%s'", SERVE_DEFAULT_BUCKET);
}

static volatile sig_atomic_t reconciler_stop;

static void on_stop_signal(int sig)
{
        (void)sig;
        reconciler_stop = 1;
}

/* The control plane's loop, in the child: waits for READY_FD to say the
 * endpoint answers (its jobs' storage may be this very endpoint), then
 * reconciles until SIGTERM (from serve, or from the kernel when serve
 * dies). */
static void __attribute__((noreturn)) reconciler_main(const struct hoist_home *home, int ready_fd)
{
        struct sigaction sa = {.sa_handler = on_stop_signal};
        struct reconcile_pass pass = {0};
        struct store *st = NULL;
        struct hoist_error *err = NULL;
        char c;

        (void)sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGTERM, &sa, NULL);
        (void)sigaction(SIGINT, &sa, NULL);
        if (read(ready_fd, &c, 1) != 1)
                _exit(0); /* serve did not come up */
        (void)close(ready_fd);
        while (!reconciler_stop) {
                struct timespec pause = {RECONCILE_PERIOD_MS / 1000,
                                         (RECONCILE_PERIOD_MS % 1000) * 1000000L};

                if (st == NULL && store_open(home->db_path, &st, &err) < 0) {
                        log_warn("serve: control plane: %s; trying again", err->msg);
                        hoist_error_release(&err);
                } else if (st != NULL && reconcile_pass(home, st, &pass, &err) < 0) {
                        log_warn("serve: control plane: %s; trying again", err->msg);
                        hoist_error_release(&err);
                }
                (void)nanosleep(&pause, NULL); /* a signal cuts it short */
        }
        reconcile_pass_done(&pass);
        store_close(st);
        _exit(0);
}

/* Forks the control plane; *RET_READY_FD gets one byte once serve answers. */
static int reconciler_start(const struct hoist_home *home, pid_t *ret_pid, int *ret_ready_fd,
                            struct hoist_error **err)
{
        pid_t parent = getpid(), pid;
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "pipe");
        /* Nothing buffered may be written twice. */
        (void)fflush(stdout);
        (void)fflush(stderr);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void)close(p[0]);
                (void)close(p[1]);
                return hoist_error_make(err, e, "fork the control plane");
        }
        if (pid == 0) {
                (void)close(p[1]);
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(0);
                reconciler_main(home, p[0]);
        }
        (void)close(p[0]);
        *ret_pid = pid;
        *ret_ready_fd = p[1];
        return 0;
}

static void reconciler_stop_child(pid_t pid)
{
        struct timespec tick = {0, 50 * 1000 * 1000};
        int status;

        if (pid <= 0)
                return;
        (void)kill(pid, SIGTERM);
        for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 50) {
                if (waited >= RECONCILE_STOP_MS) {
                        log_warn("serve: the control plane did not stop within %d s; killing it",
                                 RECONCILE_STOP_MS / 1000);
                        (void)kill(pid, SIGKILL);
                        (void)waitpid(pid, &status, 0);
                        return;
                }
                (void)nanosleep(&tick, NULL);
        }
}

/* Waits for SIGTERM or SIGINT (blocked in SET). */
static void wait_for_stop(const sigset_t *set)
{
        int sig = 0;

        while (sigwait(set, &sig) != 0)
                ;
        log_info("serve: %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void log_serve_limits(const struct serve_server *srv, const struct serve_server *tls_srv)
{
        const struct serve_limits *l = serve_server_limits(srv);
        struct rlimit rl = {0};

        (void)getrlimit(RLIMIT_NOFILE, &rl);
        log_info("serve: takes up to %u connections%s (%u per client address; open-file limit "
                 "%llu), a request head within %u s, idle connections for %u s, on %u worker "
                 "threads",
                 l->max_connections, tls_srv != NULL ? " on each listener" : "", l->max_per_address,
                 (unsigned long long)rl.rlim_cur, l->head_timeout_s, l->idle_timeout_s, l->threads);
}

static int run(struct hoist_home *home, const char *serve_dir, const struct serve_args *a,
               struct hoist_error **err)
{
        struct serve_keys *keys = NULL;
        struct objstore *os = NULL;
        struct s3_service *svc = NULL;
        struct serve_server *srv = NULL, *tls_srv = NULL;
        struct hooks_service *hooks = NULL;
        struct api_service *api = NULL;
        _cleanup_free_ char *hook_secret = NULL, *token = NULL;
        _cleanup_free_ char *host = NULL, *root = NULL, *endpoint = NULL, *json_path = NULL;
        _cleanup_free_ char *tls_endpoint = NULL, *cert = NULL, *key = NULL;
        uint16_t port = 0;
        struct serve_limits limits;
        unsigned budget;
        sigset_t set;
        pid_t reconciler = -1;
        _cleanup_close_ int ready_fd = -1;
        int rc = -1;

        root = a->root != NULL ? xstrdup(a->root) : path_join(serve_dir, "data");
        json_path = path_join(serve_dir, "serve.json");
        if (serve_parse_listen(a->listen, &host, &port, err) < 0 ||
            check_listen(a, host, err) < 0 ||
            (a->tls_cert != NULL && read_tls(a, &cert, &key, err) < 0) ||
            serve_keys_open(serve_dir, a->access_key, a->secret_key, &keys, err) < 0 ||
            objstore_open(root, &os, err) < 0 || ensure_default_bucket(os, err) < 0 ||
            hooks_secret_load(serve_dir, &hook_secret, err) < 0 ||
            hooks_service_new(hook_secret, home->db_path, a->allow, a->n_allow, &hooks, err) < 0 ||
            apitoken_load(serve_dir, &token, err) < 0 ||
            api_service_new(home, token, &api, err) < 0 ||
            reconciler_start(home, &reconciler, &ready_fd, err) < 0)
                goto out;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
                (void)hoist_error_make(err, EINVAL, "block signals");
                goto out;
        }
        /* A client that hangs up mid-response must not kill the server (sendfile()
         * cannot be told MSG_NOSIGNAL). */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
                (void)hoist_error_errno(err, "ignore SIGPIPE");
                goto out;
        }
        svc = s3_service_new(os, keys);
        limits = a->limits;
        /* Raises RLIMIT_NOFILE in any case; the control plane, forked
         * before, and the jobs it starts keep the limit serve was given. */
        budget = serve_connection_budget();
        if (limits.max_connections == 0)
                /* Both listeners share the process's descriptors. */
                limits.max_connections = cert != NULL ? budget / 2 : budget;
        if (cert != NULL) {
                /* HTTPS where other machines connect; this machine's own
                 * hoist (serve.json) keeps a plain listener on loopback. */
                struct serve_tls tls = {.cert_pem = cert, .key_pem = key};
                if (serve_server_start(host, port, &tls, &limits, svc, hooks, &tls_srv, err) < 0 ||
                    serve_server_start("127.0.0.1", 0, NULL, &limits, svc, hooks, &srv, err) < 0)
                        goto out;
                tls_endpoint =
                        xasprintf("https://%s:%u", host, (unsigned)serve_server_port(tls_srv));
                endpoint = xasprintf("http://127.0.0.1:%u", (unsigned)serve_server_port(srv));
        } else {
                if (serve_server_start(host, port, NULL, &limits, svc, hooks, &srv, err) < 0)
                        goto out;
                endpoint = xasprintf("http://%s:%u", host, (unsigned)serve_server_port(srv));
        }
        if (write_serve_json(json_path, endpoint, tls_endpoint, err) < 0)
                goto out;
        /* Its job views may reach storage on this very endpoint: after serve.json. */
        serve_server_set_api(srv, api);
        if (tls_srv != NULL)
                serve_server_set_api(tls_srv, api);
        if (tls_endpoint != NULL)
                printf("hoist serve: S3 endpoint %s (TLS; bucket '%s'), and %s for this "
                       "machine\n",
                       tls_endpoint, SERVE_DEFAULT_BUCKET, endpoint);
        else
                printf("hoist serve: S3 endpoint %s (bucket '%s')\n", endpoint,
                       SERVE_DEFAULT_BUCKET);
        print_dashboard(tls_endpoint != NULL ? tls_endpoint : endpoint, a->open ? token : NULL);
        if (a->print_credentials)
                printf("access_key=%s\nsecret_key=%s\n", serve_keys_owner(keys)->access_key,
                       serve_keys_owner(keys)->secret_key);
        (void)fflush(stdout);
        log_info("serve: storage root '%s'", root);
        log_info("serve: REST API %s/api/v1 (token in %s/%s; 'hoist serve --print-token' "
                 "prints it)",
                 tls_endpoint != NULL ? tls_endpoint : endpoint, serve_dir, APITOKEN_FILE);
        log_serve_limits(srv, tls_srv);
        log_info("serve: webhook receiver %s/hooks/events (secret in %s/%s)%s", endpoint, serve_dir,
                 HOOKS_SECRET_FILE, a->n_allow > 0 ? ", sources limited by --webhook-allow" : "");
        if (write(ready_fd, "r", 1) != 1)
                log_warn("serve: cannot start the control plane (%s); jobs are reconciled only "
                         "by hoist commands",
                         strerror(errno));
        log_info("serve: control plane looks at active jobs every %d ms (each provider is asked "
                 "at its own rate, backing off up to %d s while it fails)",
                 RECONCILE_PERIOD_MS, POLLSCHED_MAX_BACKOFF_MS / 1000);
        wait_for_stop(&set);
        rc = EXIT_OK;
out:
        /* First: its pass may still use the endpoint. */
        reconciler_stop_child(reconciler);
        /* Cancels and resumes under way answer their clients first. */
        api_service_quiesce(api);
        serve_server_stop(srv);
        serve_server_stop(tls_srv);
        if (key != NULL)
                explicit_bzero(key, strlen(key));
        if (endpoint != NULL)
                (void)unlink(json_path);
        s3_service_free(svc);
        hooks_service_free(hooks);
        api_service_free(api);
        if (token != NULL)
                explicit_bzero(token, strlen(token));
        if (hook_secret != NULL)
                explicit_bzero(hook_secret, strlen(hook_secret));
        objstore_free(os);
        serve_keys_free(keys);
        return rc;
}

static int stop_server(const struct hoist_home *home, struct hoist_error **err)
{
        _cleanup_free_ char *endpoint = NULL;
        pid_t pid = 0;
        int r = localserve_stop(home, 15000, &endpoint, &pid, err);

        if (r < 0)
                return -1;
        if (r == 0)
                printf("hoist serve: not running for %s\n", home->dir);
        else
                printf("hoist serve: stopped %s (pid %d)\n", endpoint, (int)pid);
        return EXIT_OK;
}

static void serve_args_done(struct serve_args *a)
{
        free(a->allow);
}

int cmd_serve(int argc, char **argv, struct hoist_error **err)
{
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_free_ char *serve_dir = NULL;
        struct serve_args a __attribute__((cleanup(serve_args_done))) = {0};
        int rc = parse_args(argc, argv, &a, err);

        if (rc != 0)
                return rc < 0 ? -1 : EXIT_OK;
        if (home_open(&home, err) < 0)
                return -1;
        serve_dir = path_join(home->dir, "serve");
        if (fs_mkdir_p(serve_dir, 0700, err) < 0)
                return -1;
        if (a.issue_job != NULL)
                return issue_key(serve_dir, &a, err);
        if (a.stop)
                return stop_server(home, err);
        if (a.print_token)
                return print_token(serve_dir, err);
        if (a.open) {
                bool done;
                if (open_running(home, serve_dir, &done, err) < 0)
                        return -1;
                if (done)
                        return EXIT_OK;
        }
        provider_long_lived = 1;
        return run(home, serve_dir, &a, err);
}

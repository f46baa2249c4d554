/* SPDX-License-Identifier: MIT */
/*
 * The compose provider's compose.yaml and env file (compose_render.h).
 *
 * Every scalar is written as a JSON string, which YAML reads as a
 * double-quoted scalar: no value of a job (a path with ': ', a name like
 * "yes") can change the file's structure.
 */
#include "compose_render.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "resources.h"
#include "xalloc.h"

/* Grace the engine gives a node after SIGTERM, beyond the job's stop
 * grace: the entrypoint stops its command within the grace, then uploads
 * what is left. */
#define UPLOAD_MARGIN_S 30

char *compose_project_name(const char *job_id)
{
        return xasprintf("hoist-%s", job_id);
}

char *compose_service_name(int64_t rank)
{
        return xasprintf("node%lld", (long long)rank);
}

int compose_url_is_loopback(const char *url)
{
        const char *h = strstr(url ? url : "", "://");

        if (h == NULL)
                return 0;
        h += 3;
        return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
               strncmp(h, "[::1]", 5) == 0;
}

int compose_needs_host_network(const struct jobspec *spec)
{
        if (compose_url_is_loopback(spec->storage.endpoint))
                return 1;
        for (size_t i = 0; i < spec->n_webhooks; i++)
                if (compose_url_is_loopback(spec->webhooks[i].url))
                        return 1;
        return 0;
}

/* S as a JSON string, which YAML reads back as S. */
static void q(struct buf *b, const char *s)
{
        json_t *v = json_string(s);
        char *text;

        if (v == NULL) /* not UTF-8: a job.yaml value never is, see compose_render_yaml */
                abort();
        text = json_dumps(v, JSON_ENCODE_ANY);
        json_decref(v);
        if (text == NULL)
                abort(); /* out of memory */
        buf_append_str(b, text);
        free(text);
}

static void kv(struct buf *b, const char *indent, const char *key, const char *value)
{
        buf_printf(b, "%s%s: ", indent, key);
        q(b, value);
        buf_append_char(b, '\n');
}

static int check_utf8(const char *what, const char *s, struct hoist_error **err)
{
        json_t *v;

        if (s == NULL)
                return 0;
        v = json_string(s);
        if (v == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s is not UTF-8 text, which compose.yaml cannot carry",
                                        what);
        json_decref(v);
        return 0;
}

static void render_resources(struct buf *b, const struct jobspec_resources *r)
{
        char cpus[32];

        if (r->cpus_milli <= 0 && r->memory_bytes == 0 && r->gpus <= 0)
                return;
        buf_append_str(b, "    deploy:\n      resources:\n");
        if (r->cpus_milli > 0 || r->memory_bytes > 0) {
                buf_append_str(b, "        limits:\n");
                if (r->cpus_milli > 0)
                        kv(b, "          ", "cpus",
                           resources_format_cpus(r->cpus_milli, cpus, sizeof cpus));
                if (r->memory_bytes > 0) {
                        _cleanup_free_ char *m =
                                xasprintf("%llu", (unsigned long long)r->memory_bytes);
                        kv(b, "          ", "memory", m);
                }
        }
        if (r->gpus > 0) {
                /* The NVIDIA container toolkit's reservation (Compose's GPU
                 * support); a type is the cluster's business, not the file's. */
                buf_printf(b,
                           "        reservations:\n"
                           "          devices:\n"
                           "            - driver: \"nvidia\"\n"
                           "              count: %lld\n"
                           "              capabilities: [\"gpu\"]\n",
                           (long long)r->gpus);
        }
}

static void render_service(struct buf *b, const struct compose_plan *p, int64_t rank,
                           const char *hosts)
{
        const struct jobspec *spec = p->spec;
        _cleanup_free_ char *name = compose_service_name(rank);
        int64_t grace = spec->stop_grace_s > 0 ? spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S;
        char num[32];

        buf_printf(b, "  %s:\n", name);
        kv(b, "    ", "image", p->image);
        if (spec->command != NULL) {
                /* The image's own ENTRYPOINT is the trainer's: hoist's runs it. */
                buf_append_str(b, "    entrypoint: [\"/opt/hoist/bin/hoist-entrypoint\"]\n");
                buf_append_str(b, "    command: [\"train\"]\n");
        }
        if (!p->host_network)
                kv(b, "    ", "hostname", name);
        buf_append_str(b, "    restart: \"no\"\n");
        snprintf(num, sizeof num, "%llds", (long long)(grace + UPLOAD_MARGIN_S));
        kv(b, "    ", "stop_grace_period", num);
        buf_append_str(b, "    labels:\n");
        kv(b, "      ", "io.hoist.job", p->job_id);
        snprintf(num, sizeof num, "%lld", (long long)rank);
        kv(b, "      ", "io.hoist.node", num);
        buf_append_str(b, "    environment:\n");
        kv(b, "      ", "HOIST_JOB_URL", p->job_url);
        if (spec->nodes > 1) {
                /* lib/distenv.c's hoist engine: the rank, and every node's
                 * host in rank order; the node is named node<RANK>. */
                kv(b, "      ", "HOIST_NODE_RANK", num);
                kv(b, "      ", "HOIST_NODE_HOSTS", hosts);
        } else {
                kv(b, "      ", "HOIST_NODE", "main");
        }
        if (p->secrets)
                buf_append_str(b, "    env_file: [\"" COMPOSE_ENV_FILE "\"]\n");
        if (p->storage_root != NULL || p->bundle != NULL) {
                buf_append_str(b, "    volumes:\n");
                if (p->storage_root != NULL) {
                        /* the same path inside, so file:// URLs in job.json hold */
                        _cleanup_free_ char *v =
                                xasprintf("%s:%s", p->storage_root, p->storage_root);
                        buf_append_str(b, "      - ");
                        q(b, v);
                        buf_append_char(b, '\n');
                }
                if (p->bundle != NULL) {
                        /* this hoist's entrypoint, whatever the image carries */
                        _cleanup_free_ char *v = xasprintf("%s:/opt/hoist:ro", p->bundle);
                        buf_append_str(b, "      - ");
                        q(b, v);
                        buf_append_char(b, '\n');
                }
        }
        if (p->host_network)
                buf_append_str(b, "    network_mode: \"host\"\n");
        else
                buf_append_str(b, "    networks: [\"hoist\"]\n");
        render_resources(b, &spec->resources);
}

int compose_render_yaml(const struct compose_plan *p, char **ret, struct hoist_error **err)
{
        const struct jobspec *spec = p->spec;
        int64_t nodes = spec->nodes > 1 ? spec->nodes : 1;
        _cleanup_free_ char *project = compose_project_name(p->job_id);
        struct buf hosts = {0}, b = {0};

        if (p->image == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the compose provider runs containers, and the job has no "
                                        "image (set 'image:' in job.yaml, or a build: section)");
        if (check_utf8("image", p->image, err) < 0 ||
            check_utf8("the job URL", p->job_url, err) < 0 ||
            check_utf8("the storage path", p->storage_root, err) < 0 ||
            check_utf8("the entrypoint bundle's path", p->bundle, err) < 0)
                return -1;
        for (int64_t k = 0; k < nodes; k++) {
                _cleanup_free_ char *name = compose_service_name(k);
                if (k > 0)
                        buf_append_char(&hosts, ',');
                /* on the host's network every node is this machine */
                buf_append_str(&hosts, p->host_network ? "127.0.0.1" : name);
        }
        buf_printf(&b,
                   "# hoist job %s: %lld node(s), written by hoist (docs/providers/compose.md).\n"
                   "# Credentials and secrets are not in this file: the services read them from\n"
                   "# " COMPOSE_ENV_FILE " beside it (mode 0600)%s.\n"
                   "# Run as: <engine> -p %s -f compose.yaml up -d\n",
                   p->job_id, (long long)nodes, p->secrets ? "" : ", and this job has none",
                   project);
        buf_append_str(&b, "services:\n");
        for (int64_t k = 0; k < nodes; k++)
                render_service(&b, p, k, hosts.data);
        if (!p->host_network) {
                buf_append_str(&b, "networks:\n  hoist:\n");
                kv(&b, "    ", "name", project);
                buf_append_str(&b, "    labels:\n");
                kv(&b, "      ", "io.hoist.job", p->job_id);
        }
        buf_free(&hosts);
        *ret = buf_take(&b);
        return 0;
}

/* Why VALUE would not reach the job as written, or NULL. */
static const char *env_value_problem(const char *v)
{
        size_t len = strlen(v);

        if (strchr(v, '\n') != NULL || strchr(v, '\r') != NULL)
                return "a line break";
        if (v[0] == '\'' || v[0] == '"' || v[0] == '`')
                return "a leading quote";
        if (strchr(v, '$') != NULL)
                return "'$'";
        if (strstr(v, " #") != NULL || strstr(v, "\t#") != NULL || v[0] == '#')
                return "'#' after a blank";
        if (len > 0 && (strchr(" \t", v[0]) != NULL || strchr(" \t", v[len - 1]) != NULL))
                return "a blank at either end";
        return NULL;
}

int compose_env_file(char *const *secret_env, char **ret, struct hoist_error **err)
{
        struct buf b = {0};

        for (char *const *e = secret_env; e != NULL && *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                const char *why = eq ? env_value_problem(eq + 1) : "no '='";
                if (why != NULL) {
                        _cleanup_free_ char *name = xstrndup(*e, eq ? (size_t)(eq - *e) : 0);
                        if (b.data != NULL) /* a first entry's problem: nothing kept yet */
                                explicit_bzero(b.data, b.len);
                        buf_free(&b);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' holds %s, which compose engines read "
                                                "differently from an env file (podman literally, "
                                                "docker-compose through dotenv): encode the value, "
                                                "e.g. in base64, or use the local provider",
                                                name, why);
                }
                buf_append_str(&b, *e);
                buf_append_char(&b, '\n');
        }
        *ret = b.data != NULL ? buf_take(&b) : xstrdup("");
        return 0;
}

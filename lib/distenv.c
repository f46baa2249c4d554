/* SPDX-License-Identifier: MIT */
#include "distenv.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "hostlist.h"
#include "log.h"
#include "xalloc.h"

static const char *const engine_names[] = {
        [DISTENV_SINGLE] = "single node",    [DISTENV_SLURM] = "Slurm",
        [DISTENV_KUBERNETES] = "Kubernetes", [DISTENV_SAGEMAKER] = "SageMaker",
        [DISTENV_HOIST] = "hoist",
};

const char *distenv_engine_name(enum distenv_engine e)
{
        return engine_names[e];
}

static const char *env(const char *name)
{
        const char *v = getenv(name);

        return v != NULL && *v != '\0' ? v : NULL;
}

static const char *resourceconfig_path(void)
{
        const char *p = env("HOIST_SAGEMAKER_RESOURCECONFIG");

        return p != NULL ? p : DISTENV_RESOURCECONFIG;
}

enum distenv_engine distenv_detect(void)
{
        if (env("SLURM_JOB_ID") != NULL && env("SLURM_PROCID") != NULL)
                return DISTENV_SLURM;
        if (env("JOB_COMPLETION_INDEX") != NULL)
                return DISTENV_KUBERNETES;
        if (access(resourceconfig_path(), F_OK) == 0)
                return DISTENV_SAGEMAKER;
        if (env("HOIST_NODE_HOSTS") != NULL)
                return DISTENV_HOIST;
        return DISTENV_SINGLE;
}

/* S as a decimal integer in [MIN, MAX], the whole of it. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
        char *end;
        long long v;

        if (s == NULL || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -1;
        *ret = v;
        return 0;
}

/* The variable NAME as an integer in [MIN, MAX]; an error names it. */
static int env_int(const char *name, int64_t min, int64_t max, int required, int64_t *ret,
                   struct hoist_error **err)
{
        const char *v = env(name);

        if (v == NULL) {
                if (!required)
                        return 0;
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s is not set", name);
        }
        if (parse_int(v, min, max, ret) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s='%.64s' is not a whole number from %lld to %lld", name,
                                        v, (long long)min, (long long)max);
        return 1;
}

int distenv_parse_tasks_per_node(const char *s, int64_t **ret_counts, size_t *ret_n,
                                 struct hoist_error **err)
{
        _cleanup_free_ int64_t *counts = NULL;
        size_t n = 0, cap = 0;
        int64_t total = 0;
        const char *p = s;

        if (s == NULL || *s == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SLURM_TASKS_PER_NODE is empty (expected counts like "
                                        "'2(x3),1')");
        for (;;) {
                int64_t count = 0, times = 1;
                const char *start = p;

                while (*p >= '0' && *p <= '9' && p - start < 7)
                        count = count * 10 + (*p++ - '0');
                if (p == start || count < 1 || (*p >= '0' && *p <= '9'))
                        goto bad;
                if (*p == '(') {
                        const char *t;
                        if (p[1] != 'x')
                                goto bad;
                        p += 2;
                        t = p;
                        times = 0;
                        while (*p >= '0' && *p <= '9' && p - t < 7)
                                times = times * 10 + (*p++ - '0');
                        if (p == t || times < 1 || *p != ')')
                                goto bad;
                        p++;
                }
                if (times > DISTENV_MAX_NODES || count * times > DISTENV_MAX_NODES - total)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SLURM_TASKS_PER_NODE='%.64s' counts more than %d "
                                                "tasks",
                                                s, DISTENV_MAX_NODES);
                total += count * times;
                for (int64_t i = 0; i < times; i++) {
                        if (n == cap) {
                                cap = cap ? cap * 2 : 8;
                                counts = xreallocarray(counts, cap, sizeof *counts);
                        }
                        counts[n++] = count;
                }
                if (*p == '\0')
                        break;
                if (*p != ',')
                        goto bad;
                p++;
        }
        *ret_counts = TAKE_PTR(counts);
        *ret_n = n;
        return 0;
bad:
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "SLURM_TASKS_PER_NODE='%.64s': column %d: expected a count of "
                                "tasks, optionally repeated as N(xM), separated by ',' (like "
                                "'2(x3),1')",
                                s, (int)(p - s) + 1);
}

static char **strv_from(char *const *v, size_t n)
{
        char **r = xcalloc(n + 1, sizeof *r);

        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

/* Which host rank RANK runs on when the ranks fill the hosts in order,
 * COUNTS[i] to host i (srun's block distribution); *RET_FIRST gets the
 * first rank of that host. */
static size_t host_of_rank(const int64_t *counts, size_t n, int64_t rank, int64_t *ret_first)
{
        int64_t first = 0;
        size_t i = 0;

        for (; i + 1 < n && rank >= first + counts[i]; i++)
                first += counts[i];
        *ret_first = first;
        return i;
}

int distenv_from_slurm(struct distenv *ret, struct hoist_error **err)
{
        _cleanup_strv_ char **hosts = NULL;
        _cleanup_free_ int64_t *counts = NULL;
        const char *list_var =
                env("SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST";
        const char *tasks_var = env("SLURM_STEP_TASKS_PER_NODE") ? "SLURM_STEP_TASKS_PER_NODE"
                                                                 : "SLURM_TASKS_PER_NODE";
        const char *ntasks_var =
                env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
        int64_t rank = 0, ntasks = 0, nodeid = -1, localid = -1, first = 0, sum = 0;
        size_t n_counts = 0, host;
        int n_hosts;

        if (env(list_var) == NULL && env("SLURM_NODELIST") != NULL)
                list_var = "SLURM_NODELIST";
        if (env(ntasks_var) == NULL && env("SLURM_NPROCS") != NULL)
                ntasks_var = "SLURM_NPROCS";
        if (env_int(ntasks_var, 1, DISTENV_MAX_NODES, 1, &ntasks, err) < 0 ||
            env_int("SLURM_PROCID", 0, ntasks - 1, 1, &rank, err) < 0 ||
            env_int("SLURM_NODEID", 0, DISTENV_MAX_NODES, 0, &nodeid, err) < 0 ||
            env_int("SLURM_LOCALID", 0, DISTENV_MAX_NODES, 0, &localid, err) < 0)
                return hoist_error_wrap(err, "Slurm");
        if (env(list_var) == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Slurm: SLURM_JOB_NODELIST is not set (is this a task "
                                        "started by srun?)");
        n_hosts = hostlist_expand(env(list_var), &hosts, err);
        if (n_hosts < 0)
                return hoist_error_wrap(err, "Slurm: %s", list_var);
        if (env(tasks_var) == NULL) {
                /* Without it, only one task per host can be placed. */
                if (ntasks != n_hosts)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Slurm: %s is not set and %s=%lld does not match "
                                                "the %d hosts of %s",
                                                tasks_var, ntasks_var, (long long)ntasks, n_hosts,
                                                list_var);
                counts = xcalloc((size_t)n_hosts, sizeof *counts);
                for (int i = 0; i < n_hosts; i++)
                        counts[i] = 1;
                n_counts = (size_t)n_hosts;
        } else if (distenv_parse_tasks_per_node(env(tasks_var), &counts, &n_counts, err) < 0) {
                return hoist_error_wrap(err, "Slurm");
        }
        if (n_counts != (size_t)n_hosts)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Slurm: %s='%.64s' gives %zu hosts but %s='%.64s' has %d",
                                        tasks_var, env(tasks_var), n_counts, list_var,
                                        env(list_var), n_hosts);
        for (size_t i = 0; i < n_counts; i++)
                sum += counts[i];
        if (sum != ntasks)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT, "Slurm: %s='%.64s' adds up to %lld tasks but %s=%lld",
                        tasks_var, env(tasks_var), (long long)sum, ntasks_var, (long long)ntasks);
        host = host_of_rank(counts, n_counts, rank, &first);
        if (nodeid >= 0 && (size_t)nodeid != host)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Slurm: task %lld is on node %lld (SLURM_NODEID) but the "
                                        "block distribution puts it on node %zu; start the tasks "
                                        "with srun's default --distribution=block",
                                        (long long)rank, (long long)nodeid, host);
        if (localid >= 0 && localid != rank - first)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Slurm: task %lld has SLURM_LOCALID=%lld but is task %lld "
                                        "of its node in the block distribution; start the tasks "
                                        "with srun's default --distribution=block",
                                        (long long)rank, (long long)localid,
                                        (long long)(rank - first));
        ret->engine = DISTENV_SLURM;
        ret->node_rank = rank;
        ret->num_nodes = ntasks;
        ret->local_slot = rank - first;
        ret->hosts = xcalloc((size_t)ntasks + 1, sizeof *ret->hosts);
        for (size_t i = 0, r = 0; i < n_counts; i++)
                for (int64_t k = 0; k < counts[i]; k++)
                        ret->hosts[r++] = xstrdup(hosts[i]);
        return 0;
}

/* A DNS label: 1-63 of [a-z0-9-], not starting or ending with '-'; a
 * subdomain may hold several, separated by '.'. */
static int dns_name_valid(const char *s, int dots)
{
        size_t label = 0, n = 0;

        for (const char *p = s; *p; p++, n++) {
                if (*p == '.' && dots && label > 0 && p[-1] != '-') {
                        label = 0;
                        continue;
                }
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      (*p == '-' && label > 0)))
                        return 0;
                if (++label > 63)
                        return 0;
        }
        return n > 0 && n <= 253 && label > 0 && s[n - 1] != '-';
}

int distenv_from_kubernetes(struct distenv *ret, struct hoist_error **err)
{
        const char *job = env("HOIST_K8S_JOB_NAME");
        const char *sub = env("HOIST_K8S_SUBDOMAIN");
        int64_t rank = 0, n = 0;

        if (env_int("HOIST_NUM_NODES", 1, DISTENV_MAX_NODES, 1, &n, err) < 0 ||
            env_int("JOB_COMPLETION_INDEX", 0, n - 1, 1, &rank, err) < 0)
                return hoist_error_wrap(err, "Kubernetes Indexed Job");
        if (job == NULL || !dns_name_valid(job, 0))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Kubernetes Indexed Job: HOIST_K8S_JOB_NAME='%.64s' is not "
                                        "a Job name (a DNS label: a-z, 0-9 and '-'); the manifest "
                                        "sets it to the Job's metadata.name",
                                        job ? job : "");
        if (sub == NULL || !dns_name_valid(sub, 1))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Kubernetes Indexed Job: HOIST_K8S_SUBDOMAIN='%.64s' is "
                                        "not a Service name; the manifest sets it to the headless "
                                        "Service the pods' spec.subdomain names",
                                        sub ? sub : "");
        ret->engine = DISTENV_KUBERNETES;
        ret->node_rank = rank;
        ret->num_nodes = n;
        ret->local_slot = 0;
        ret->hosts = xcalloc((size_t)n + 1, sizeof *ret->hosts);
        for (int64_t k = 0; k < n; k++)
                ret->hosts[k] = xasprintf("%s-%lld.%s", job, (long long)k, sub);
        return 0;
}

static int host_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 253)
                return 0;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == ':'))
                        return 0;
        return 1;
}

static int host_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int distenv_from_sagemaker(const char *json, size_t len, const char *name, struct distenv *ret,
                           struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *hosts, *current;
        const char *cur;
        int64_t rank = -1;
        size_t n;

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "SageMaker '%s': line %d: %s", name,
                                        jerr.line, jerr.text);
        hosts = json_object_get(root, "hosts");
        current = json_object_get(root, "current_host");
        if (!json_is_object(root) || !json_is_array(hosts) || !json_is_string(current))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': expected an object with \"current_host\" "
                                        "(a string) and \"hosts\" (an array of strings)",
                                        name);
        n = json_array_size(hosts);
        if (n == 0 || n > DISTENV_MAX_NODES)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': \"hosts\" has %zu entries (expected 1 to "
                                        "%d)",
                                        name, n, DISTENV_MAX_NODES);
        cur = json_string_value(current);
        for (size_t i = 0; i < n; i++) {
                json_t *h = json_array_get(hosts, i);
                if (!json_is_string(h) || !host_name_valid(json_string_value(h)))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': hosts[%zu] is not a host name",
                                                name, i);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(json_string_value(h),
                                   json_string_value(json_array_get(hosts, j))) == 0)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "SageMaker '%s': host '%s' is listed "
                                                        "twice",
                                                        name, json_string_value(h));
                if (strcmp(json_string_value(h), cur) == 0)
                        rank = (int64_t)i;
        }
        if (rank < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': current_host '%.64s' is not in \"hosts\"",
                                        name, cur);
        ret->engine = DISTENV_SAGEMAKER;
        ret->num_nodes = (int64_t)n;
        ret->local_slot = 0;
        ret->hosts = xcalloc(n + 1, sizeof *ret->hosts);
        for (size_t i = 0; i < n; i++)
                ret->hosts[i] = xstrdup(json_string_value(json_array_get(hosts, i)));
        /* SageMaker lists them sorted, and the rank is the place in that
         * order, whatever order a file gives. */
        qsort(ret->hosts, n, sizeof *ret->hosts, host_cmp);
        for (size_t i = 0; i < n; i++)
                if (strcmp(ret->hosts[i], cur) == 0)
                        rank = (int64_t)i;
        ret->node_rank = rank;
        return 0;
}

int distenv_from_hoist(struct distenv *ret, struct hoist_error **err)
{
        const char *list = env("HOIST_NODE_HOSTS");
        _cleanup_strv_ char **hosts = NULL;
        size_t n = 0;
        int64_t rank = 0;

        if (list == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "HOIST_NODE_HOSTS is not set");
        hosts = xcalloc(strlen(list) + 2, sizeof *hosts);
        for (const char *p = list;; p++) {
                const char *end = strchrnul(p, ',');
                hosts[n] = xstrndup(p, (size_t)(end - p));
                if (!host_name_valid(hosts[n]))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "HOIST_NODE_HOSTS='%.64s': entry %zu is not a host "
                                                "name (expected host names separated by ',')",
                                                list, n + 1);
                n++;
                if (*end == '\0')
                        break;
                p = end;
        }
        if (n > DISTENV_MAX_NODES)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "HOIST_NODE_HOSTS names %zu hosts (at most %d)", n,
                                        DISTENV_MAX_NODES);
        if (env_int("HOIST_NODE_RANK", 0, (int64_t)n - 1, 1, &rank, err) < 0)
                return hoist_error_wrap(err, "HOIST_NODE_HOSTS names %zu hosts", n);
        ret->engine = DISTENV_HOIST;
        ret->node_rank = rank;
        ret->num_nodes = (int64_t)n;
        ret->local_slot = 0;
        ret->hosts = strv_from(hosts, n);
        return 0;
}

static int from_sagemaker_file(struct distenv *ret, struct hoist_error **err)
{
        const char *path = resourceconfig_path();
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (fs_read_file(path, &text, &len, err) < 0)
                return hoist_error_wrap(err, "SageMaker resource config");
        return distenv_from_sagemaker(text, len, path, ret, err);
}

int distenv_read(enum distenv_engine engine, struct distenv *ret, struct hoist_error **err)
{
        struct distenv d = {.engine = engine};
        int r = 0;

        switch (engine) {
        case DISTENV_SINGLE:
                d.num_nodes = 1;
                d.hosts = xcalloc(2, sizeof *d.hosts);
                d.hosts[0] = xstrdup("127.0.0.1");
                break;
        case DISTENV_SLURM:
                r = distenv_from_slurm(&d, err);
                break;
        case DISTENV_KUBERNETES:
                r = distenv_from_kubernetes(&d, err);
                break;
        case DISTENV_SAGEMAKER:
                r = from_sagemaker_file(&d, err);
                break;
        case DISTENV_HOIST:
                r = distenv_from_hoist(&d, err);
                break;
        }
        if (r < 0) {
                distenv_clear(&d);
                return -1;
        }
        *ret = d;
        return 0;
}

/* HOST's first address, IPv4 before IPv6, as text; the getaddrinfo error
 * code when it has none. */
static int resolve_one(const char *host, char **ret)
{
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL, *pick = NULL;
        char buf[INET6_ADDRSTRLEN];
        int r = getaddrinfo(host, NULL, &hints, &res);

        if (r != 0)
                return r;
        for (struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
                if (a->ai_family == AF_INET)
                        pick = a;
        for (struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
                if (a->ai_family == AF_INET6)
                        pick = a;
        if (pick == NULL) {
                freeaddrinfo(res);
                return EAI_NODATA;
        }
        if (pick->ai_family == AF_INET)
                (void)inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr,
                                buf, sizeof buf);
        else
                (void)inet_ntop(AF_INET6,
                                &((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr, buf,
                                sizeof buf);
        freeaddrinfo(res);
        *ret = xstrdup(buf);
        return 0;
}

int distenv_resolve(const struct distenv *d, char ***ret_addrs, struct hoist_error **err)
{
        _cleanup_strv_ char **addrs = xcalloc((size_t)d->num_nodes + 1, sizeof *addrs);

        for (int64_t i = 0; i < d->num_nodes; i++) {
                int r = resolve_one(d->hosts[i], &addrs[i]);
                if (r != 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "cannot resolve node %lld's host '%s': %s (check "
                                                "that the name resolves where the job runs)",
                                                (long long)i, d->hosts[i],
                                                r == EAI_NODATA ? "no address" : gai_strerror(r));
        }
        *ret_addrs = TAKE_PTR(addrs);
        return 0;
}

void distenv_clear(struct distenv *d)
{
        if (d == NULL)
                return;
        strv_free(d->hosts);
        d->hosts = NULL;
}

/* SPDX-License-Identifier: MIT */
#include "rendezvous.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "fmt.h"
#include "log.h"
#include "xalloc.h"

#define HELLO "hoist-rendezvous 1 "
/* How long node 0 gives a connection to say which node it is, and each
 * peer to close after the answer. */
#define LINE_MS 5000
/* The longest pause between a peer's tries to reach node 0. */
#define RETRY_MAX_MS 500

static void sleep_ms(int64_t ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

        (void)nanosleep(&ts, NULL);
}

int rendezvous_parse_hello(const char *line, const char *job_id, int64_t nodes, int64_t *ret_rank,
                           struct hoist_error **err)
{
        size_t idlen = strlen(job_id);
        const char *p = line, *sp;
        int64_t rank, n;

        if (strncmp(p, HELLO, strlen(HELLO)) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "not a hoist rendezvous line (expected '" HELLO
                                        "<job> <rank> <nodes>')");
        p += strlen(HELLO);
        if (strncmp(p, job_id, idlen) != 0 || p[idlen] != ' ')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a node of another job (this is job %s)", job_id);
        p += idlen + 1;
        sp = strchr(p, ' ');
        if (sp == NULL || (rank = fmt_small_number(p, (size_t)(sp - p))) < 0 ||
            (n = fmt_small_number(sp + 1, strlen(sp + 1))) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a rendezvous line without a rank and a node count");
        if (n != nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a node that counts %lld nodes (this one: %lld)",
                                        (long long)n, (long long)nodes);
        if (rank < 1 || rank >= nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "node rank %lld is not one of 1 .. %lld", (long long)rank,
                                        (long long)nodes - 1);
        *ret_rank = rank;
        return 0;
}

static int addr_valid(const char *s)
{
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int rendezvous_parse_reply(const char *line, int64_t nodes, char ***ret_addrs,
                           struct hoist_error **err)
{
        _cleanup_strv_ char **addrs = NULL;
        const char *p;
        int64_t n = 0;

        if (strncmp(line, "error ", 6) == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "node 0 refused this node: %.300s",
                                        line + 6);
        if (strncmp(line, "ok ", 3) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "node 0 answered what is not a hoist rendezvous answer");
        addrs = xcalloc((size_t)nodes + 1, sizeof *addrs);
        for (p = line + 3;; p++) {
                const char *end = strchrnul(p, ',');
                if (n == nodes)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "node 0 answered more than %lld addresses",
                                                (long long)nodes);
                addrs[n] = xstrndup(p, (size_t)(end - p));
                if (!addr_valid(addrs[n]))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "node 0 answered '%.64s' as node %lld's address, "
                                                "which is not an IP address",
                                                addrs[n], (long long)n);
                n++;
                if (*end == '\0')
                        break;
                p = end;
        }
        if (n != nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "node 0 answered %lld addresses for %lld nodes",
                                        (long long)n, (long long)nodes);
        *ret_addrs = TAKE_PTR(addrs);
        return 0;
}

/* The address of SA as text; an IPv4 address mapped into IPv6 as a.b.c.d. */
static char *addr_text(const struct sockaddr_storage *sa)
{
        char buf[INET6_ADDRSTRLEN];

        if (sa->ss_family == AF_INET6) {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
                if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                        (void)inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, sizeof buf);
                else
                        (void)inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
        } else {
                (void)inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                                buf, sizeof buf);
        }
        return xstrdup(buf);
}

/* Reads one line ("\n" dropped) from FD until DEADLINE (now_ms); -1 on a
 * timeout, an error, end of stream or a line too long. */
static int read_line(int fd, char *buf, size_t size, int64_t deadline)
{
        size_t n = 0;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int64_t left = deadline - clock_mono_ms();
                ssize_t r;
                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        return -1;
                r = read(fd, buf + n, size - 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                n += (size_t)r;
                buf[n] = '\0';
                char *nl = memchr(buf, '\n', n);
                if (nl != NULL) {
                        *nl = '\0';
                        return 0;
                }
                if (n == size - 1)
                        return -1;
        }
}

static int write_all(int fd, const char *s)
{
        size_t len = strlen(s);

        while (len > 0) {
                ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                s += w;
                len -= (size_t)w;
        }
        return 0;
}

/* A listening socket on every address of this host, PORT. */
static int listen_on(int64_t port, struct hoist_error **err)
{
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                                  .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = IN6ADDR_ANY_INIT};
        struct sockaddr_in a4 = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        int one = 1, zero = 0;
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r;

        if (fd >= 0) {
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                r = bind(fd, (struct sockaddr *)&a6, sizeof a6);
        } else {
                /* no IPv6 in this network namespace */
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return hoist_error_errno(err, "rendezvous: socket: %s", strerror(errno));
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                r = bind(fd, (struct sockaddr *)&a4, sizeof a4);
        }
        if (r < 0 || listen(fd, 128) < 0) {
                int e = errno;
                (void)close(fd);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "node 0 cannot listen on port %lld for the other nodes: "
                                        "%s (distributed.port sets another)",
                                        (long long)port, strerror(e));
        }
        return fd;
}

struct peer {
        int fd;
        char *addr;
};

static void peers_free(struct peer *peers, int64_t n)
{
        for (int64_t i = 0; i < n; i++) {
                if (peers[i].fd >= 0)
                        (void)close(peers[i].fd);
                free(peers[i].addr);
        }
        free(peers);
}

/* The ranks that have not joined, "1, 3" (for the error). */
static char *missing(const struct peer *peers, int64_t n)
{
        struct buf b = {0};
        int64_t shown = 0;

        for (int64_t i = 1; i < n; i++) {
                if (peers[i].fd >= 0)
                        continue;
                if (shown++ == 8) {
                        buf_append_str(&b, ", ...");
                        break;
                }
                buf_printf(&b, "%s%lld", shown > 1 ? ", " : "", (long long)i);
        }
        return buf_take(&b);
}

static int lead(const struct distenv *d, const char *job_id, int64_t port, int64_t wait_s,
                char ***ret_addrs, struct hoist_error **err)
{
        _cleanup_close_ int lfd = listen_on(port, err);
        int64_t n = d->num_nodes, joined = 0, deadline = clock_mono_ms() + wait_s * 1000;
        struct peer *peers;
        _cleanup_free_ char *self = NULL;
        _cleanup_strv_ char **addrs = NULL;
        _cleanup_buf_ struct buf reply = {0};
        _cleanup_free_ char *text = NULL;

        if (lfd < 0)
                return -1;
        peers = xcalloc((size_t)n, sizeof *peers);
        for (int64_t i = 0; i < n; i++)
                peers[i].fd = -1;
        log_info("node 0 of %lld: waiting on port %lld for the other nodes to join", (long long)n,
                 (long long)port);
        while (joined < n - 1) {
                struct pollfd p = {.fd = lfd, .events = POLLIN};
                struct sockaddr_storage sa, mine;
                socklen_t salen = sizeof sa, minelen = sizeof mine;
                char line[RENDEZVOUS_MAX_LINE];
                struct hoist_error *why = NULL;
                int64_t rank, left = deadline - clock_mono_ms();
                int c;

                int r = left > 0 ? poll(&p, 1, (int)(left > 1000 ? 1000 : left)) : 0;
                if (r < 0 && errno == EINTR)
                        continue;
                if (left <= 0 || r < 0) {
                        _cleanup_free_ char *m = missing(peers, n);
                        peers_free(peers, n);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "node 0 waited %llds for node%s %s to join on port "
                                                "%lld; check that every node started and reaches "
                                                "node 0",
                                                (long long)wait_s, n - 1 - joined > 1 ? "s" : "", m,
                                                (long long)port);
                }
                if (!(p.revents & POLLIN))
                        continue;
                c = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                if (read_line(c, line, sizeof line, clock_mono_ms() + LINE_MS) < 0) {
                        _cleanup_free_ char *from = addr_text(&sa);
                        log_warn("rendezvous: a connection from %s said nothing; closed", from);
                        (void)close(c);
                        continue;
                }
                if (rendezvous_parse_hello(line, job_id, n, &rank, &why) < 0) {
                        _cleanup_free_ char *from = addr_text(&sa);
                        _cleanup_free_ char *ans = xasprintf("error %s\n", why->msg);
                        log_warn("rendezvous: refused %s: %s", from, why->msg);
                        (void)write_all(c, ans);
                        hoist_error_release(&why);
                        (void)close(c);
                        continue;
                }
                if (peers[rank].fd >= 0) {
                        /* its first connection broke and it tried again */
                        (void)close(peers[rank].fd);
                        free(peers[rank].addr);
                } else {
                        joined++;
                }
                peers[rank].fd = c;
                peers[rank].addr = addr_text(&sa);
                if (self == NULL && getsockname(c, (struct sockaddr *)&mine, &minelen) == 0)
                        self = addr_text(&mine);
                log_debug("rendezvous: node %lld joined from %s", (long long)rank,
                          peers[rank].addr);
        }
        addrs = xcalloc((size_t)n + 1, sizeof *addrs);
        addrs[0] = xstrdup(self != NULL ? self : "127.0.0.1");
        for (int64_t i = 1; i < n; i++)
                addrs[i] = xstrdup(peers[i].addr);
        buf_append_str(&reply, "ok ");
        for (int64_t i = 0; i < n; i++)
                buf_printf(&reply, "%s%s", i > 0 ? "," : "", addrs[i]);
        buf_append_str(&reply, "\n");
        text = buf_take(&reply);
        for (int64_t i = 1; i < n; i++)
                if (write_all(peers[i].fd, text) < 0)
                        log_warn("rendezvous: node %lld left before the answer", (long long)i);
        /* each peer closes first, so that no connection of node 0 lingers
         * on the port the command binds next */
        for (int64_t i = 1; i < n; i++) {
                char rest[64];
                (void)read_line(peers[i].fd, rest, sizeof rest, clock_mono_ms() + LINE_MS);
        }
        peers_free(peers, n);
        log_info("all %lld nodes joined", (long long)n);
        *ret_addrs = TAKE_PTR(addrs);
        return 0;
}

/* One try to connect to HOST:PORT before DEADLINE: the fd, or -1 with a
 * getaddrinfo code in *GAI or, when that is 0, an errno in *ERRNUM. */
static int connect_to(const char *host, int64_t port, int64_t deadline, int *gai, int *errnum)
{
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        char service[16];
        int fd = -1;

        snprintf(service, sizeof service, "%lld", (long long)port);
        *gai = getaddrinfo(host, service, &hints, &res);
        if (*gai != 0)
                return -1;
        for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
                struct pollfd p;
                int64_t left = deadline - clock_mono_ms();
                int soerr = 0;
                socklen_t len = sizeof soerr;
                fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        *errnum = errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        *errnum = errno;
                        (void)close(fd);
                        fd = -1;
                        continue;
                }
                p = (struct pollfd){.fd = fd, .events = POLLOUT};
                if (left <= 0 || poll(&p, 1, (int)(left > LINE_MS ? LINE_MS : left)) <= 0 ||
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
                        *errnum = soerr != 0 ? soerr : ETIMEDOUT;
                        (void)close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(res);
        return fd;
}

static int join(const struct distenv *d, const char *job_id, int64_t port, int64_t wait_s,
                char ***ret_addrs, struct hoist_error **err)
{
        const char *host = d->hosts[0];
        int64_t deadline = clock_mono_ms() + wait_s * 1000, pause = 50;
        _cleanup_free_ char *hello = xasprintf(HELLO "%s %lld %lld\n", job_id,
                                               (long long)d->node_rank, (long long)d->num_nodes);
        int gai = 0, errnum = 0, tries = 0;

        for (;;) {
                char line[RENDEZVOUS_MAX_LINE];
                int fd = connect_to(host, port, deadline, &gai, &errnum);
                tries++;
                if (fd >= 0) {
                        /* node 0 answers once every node joined: it waits
                         * up to wait_s from its own start */
                        int got = write_all(fd, hello) == 0 &&
                                  read_line(fd, line, sizeof line,
                                            clock_mono_ms() + wait_s * 1000 + LINE_MS) == 0;
                        (void)close(fd);
                        if (got) {
                                if (rendezvous_parse_reply(line, d->num_nodes, ret_addrs, err) < 0)
                                        return -1;
                                log_debug("rendezvous: joined node 0 at %s:%lld", host,
                                          (long long)port);
                                return 0;
                        }
                        /* node 0 went away before answering: try again */
                        gai = 0;
                        errnum = ECONNRESET;
                } else if (gai != 0 && gai != EAI_AGAIN && gai != EAI_NONAME && gai != EAI_NODATA) {
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "cannot resolve node 0's host '%s': %s", host,
                                                gai_strerror(gai));
                }
                if (clock_mono_ms() + pause > deadline)
                        return hoist_error_make(
                                err, HOIST_ERR_INPUT,
                                "node %lld could not join node 0 at %s:%lld within %llds (%s); "
                                "check that node 0 started and that this node reaches it",
                                (long long)d->node_rank, host, (long long)port, (long long)wait_s,
                                gai != 0 ? gai_strerror(gai) : strerror(errnum));
                if (tries == 1 || tries % 20 == 0)
                        log_debug("rendezvous: node 0 at %s:%lld not there yet (%s); retrying",
                                  host, (long long)port,
                                  gai != 0 ? gai_strerror(gai) : strerror(errnum));
                sleep_ms(pause);
                pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause * 2;
        }
}

int rendezvous_run(const struct distenv *d, const char *job_id, int64_t port, int64_t wait_s,
                   char ***ret_addrs, struct hoist_error **err)
{
        if (d->num_nodes < 2 || d->node_rank < 0 || d->node_rank >= d->num_nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "rendezvous: node %lld of %lld is not a place",
                                        (long long)d->node_rank, (long long)d->num_nodes);
        if (d->node_rank == 0)
                return lead(d, job_id, port, wait_s, ret_addrs, err);
        return join(d, job_id, port, wait_s, ret_addrs, err);
}

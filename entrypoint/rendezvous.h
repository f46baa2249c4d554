/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_RENDEZVOUS_H
#define HOIST_ENTRYPOINT_RENDEZVOUS_H

/*
 * The meeting of a job's nodes where their hosts are DNS names that live
 * only while their containers do (compose services, the pods of a
 * Kubernetes Indexed Job; docs/entrypoint.md "Multi-node").  Resolving every
 * peer's name misses a peer that already ended: a node that started late
 * waited for a name that had gone.  Instead node 0 listens on MASTER_PORT
 * (the job's distributed.port) and every other node connects to it and
 * says which it is; once all have, node 0 answers each with every node's
 * address, as node 0 saw it, and the port is free again for the command.
 * No node starts its command before every node has joined, and only node
 * 0's name needs to resolve, while node 0 waits for the others.
 *
 * The exchange, one line each way:
 *   node K -> node 0   "hoist-rendezvous 1 <job id> <K> <nodes>\n"
 *   node 0 -> node K   "ok <addr 0>,<addr 1>,...\n"  or  "error <why>\n"
 * A node K that connects again (its first connection broke) replaces its
 * first; node 0 closes its side only after each peer closed its own.
 */

#include <stdint.h>

#include "distenv.h"
#include "error.h"

#define RENDEZVOUS_MAX_LINE 4096

/* Meets the other nodes of job JOB_ID placed by D on PORT: node 0 waits up
 * to WAIT_S seconds for all to join; any other waits as long for node 0 to
 * listen, then for its answer.  *RET_ADDRS: every node's address in rank
 * order (IPv4 as a.b.c.d). */
int rendezvous_run(const struct distenv *d, const char *job_id, int64_t port, int64_t wait_s,
                   char ***ret_addrs, struct hoist_error **err);

/* A joining node's line (without "\n"), checked against JOB_ID and NODES:
 * its rank in *RET_RANK, 1 .. NODES-1. */
int rendezvous_parse_hello(const char *line, const char *job_id, int64_t nodes, int64_t *ret_rank,
                           struct hoist_error **err);

/* Node 0's answer (without "\n"): NODES addresses in *RET_ADDRS; an
 * "error" answer, or anything else, is an error naming what node 0 said. */
int rendezvous_parse_reply(const char *line, int64_t nodes, char ***ret_addrs,
                           struct hoist_error **err);

#endif

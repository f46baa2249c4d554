/* SPDX-License-Identifier: MIT */
#ifndef HOIST_HOSTLIST_H
#define HOIST_HOSTLIST_H

/*
 * Slurm's hostlist syntax, as SLURM_JOB_NODELIST and `scontrol show
 * hostnames` use it: "gpu[01-04,07],cpu-a[1-2]".
 *
 * - Names are separated by ',', ' ' or '\t' outside brackets; empty names
 *   between separators are skipped, as Slurm does.
 * - A bracket holds ','-separated numbers N or ranges LO-HI (LO <= HI).  Each
 *   number is printed zero-padded to the width LO was written with: "[01-10]"
 *   gives 01..10, "[1-10]" gives 1..10, "[001-3]" gives 001..003.
 * - A name may hold several brackets, "rack[1-2]-node[01-02]": the names are
 *   every combination (rack1-node01, rack1-node02, rack2-node01,
 *   rack2-node02), in Slurm's order: the last bracket moves fastest, then the
 *   first, the second, ... ("a[1-2]b[1-2]c[1-2]" gives a1b1c1 a1b1c2 a2b1c1
 *   a2b1c2 a1b2c1 ...).  Like Slurm 22.05, a name
 *   cannot go on after its last bracket ("gpu[1-2]-ib" is an error).
 * - The hosts come back in the order written, duplicates kept, as
 *   `scontrol show hostnames` prints them.
 *
 * The input is untrusted (an environment variable, an engine's output), so
 * anything else is an error that names the column (where Slurm guesses,
 * taking "n[1-3" as "n]" and "x]" as a name, hoist refuses): an unclosed or
 * stray bracket, an empty bracket or item, a reversed range, a number of more than
 * HOSTLIST_MAX_DIGITS digits, a byte that is not printable ASCII, a name
 * longer than HOSTLIST_MAX_NAME, or more than HOSTLIST_MAX_HOSTS names in all
 * (Slurm's own limit on one range), which also bounds the work on any input.
 */

#include <stddef.h>

#include "error.h"

#define HOSTLIST_MAX_HOSTS 65536
#define HOSTLIST_MAX_NAME 255
#define HOSTLIST_MAX_DIGITS 18

/* Expands LIST into a NULL-terminated array of names (free with
 * strv_free()) and returns how many, at least one; an empty LIST is an
 * error.  Errors are HOIST_ERR_INPUT and quote LIST. */
int hostlist_expand(const char *list, char ***ret_hosts, struct hoist_error **err);

/* The compressed form of the N names HOSTS in their order, as Slurm prints
 * it: consecutive names that differ only in a trailing number become one
 * bracket ("gpu01,gpu02,gpu03,gpu07" -> "gpu[01-03,07]").
 * hostlist_expand() of the result gives HOSTS back exactly.  A name that is
 * empty, too long or holds a separator, a bracket or a byte that is not
 * printable ASCII is an error (HOIST_ERR_INPUT). */
char *hostlist_compress(char *const *hosts, size_t n, struct hoist_error **err);

#endif

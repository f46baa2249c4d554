/* SPDX-License-Identifier: MIT */
#include "slurm_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fmt.h"
#include "xalloc.h"

/* How much of the engine's text an error message quotes. */
#define SLURM_QUOTE_MAX 120

/* The one table: Slurm's job states (slurm.h's job_state_string() and
 * job_state_string_compact(), squeue(1) "JOB STATE CODES") onto outcomes.
 * slurm_parse.h says why each lands where it does. */
static const struct {
        const char *name, *code;
        enum slurm_outcome outcome;
} slurm_states[] = {
        {"PENDING", "PD", SLURM_QUEUED},        {"RESV_DEL_HOLD", "RD", SLURM_QUEUED},
        {"CONFIGURING", "CF", SLURM_STARTING},  {"RUNNING", "R", SLURM_RUNNING},
        {"COMPLETING", "CG", SLURM_RUNNING},    {"RESIZING", "RS", SLURM_RUNNING},
        {"SIGNALING", "SI", SLURM_RUNNING},     {"SUSPENDED", "S", SLURM_RUNNING},
        {"STOPPED", "ST", SLURM_RUNNING},       {"COMPLETED", "CD", SLURM_SUCCEEDED},
        {"FAILED", "F", SLURM_FAILED},          {"OUT_OF_MEMORY", "OOM", SLURM_FAILED},
        {"DEADLINE", "DL", SLURM_FAILED},       {"SPECIAL_EXIT", "SE", SLURM_FAILED},
        {"CANCELLED", "CA", SLURM_CANCELED},    {"REVOKED", "RV", SLURM_CANCELED},
        {"TIMEOUT", "TO", SLURM_INTERRUPTED},   {"PREEMPTED", "PR", SLURM_INTERRUPTED},
        {"NODE_FAIL", "NF", SLURM_INTERRUPTED}, {"BOOT_FAIL", "BF", SLURM_INTERRUPTED},
        {"REQUEUED", "RQ", SLURM_QUEUED},       {"REQUEUE_HOLD", "RH", SLURM_QUEUED},
        {"REQUEUE_FED", "RF", SLURM_QUEUED},
};

#define N_STATES (sizeof slurm_states / sizeof slurm_states[0])

const char *slurm_outcome_name(enum slurm_outcome outcome)
{
        switch (outcome) {
        case SLURM_QUEUED:
                return "queued";
        case SLURM_STARTING:
                return "starting";
        case SLURM_RUNNING:
                return "running";
        case SLURM_SUCCEEDED:
                return "succeeded";
        case SLURM_FAILED:
                return "failed";
        case SLURM_CANCELED:
                return "canceled";
        case SLURM_INTERRUPTED:
                return "interrupted";
        }
        return "unknown";
}

static int fail(struct hoist_error **err, int code, const char *what, const char *text, size_t len)
{
        _cleanup_free_ char *q = fmt_quote(text, len, SLURM_QUOTE_MAX);

        return hoist_error_make(err, code, "%s: '%s'", what, q);
}

/* The index of STATE (its first word) in slurm_states, or -1. */
static int state_index(const char *state, size_t len)
{
        size_t word = 0;

        while (word < len && state[word] != ' ')
                word++;
        for (size_t i = 0; i < N_STATES; i++) {
                const char *name = slurm_states[i].name, *code = slurm_states[i].code;
                if ((strlen(name) == word && memcmp(name, state, word) == 0) ||
                    (strlen(code) == word && memcmp(code, state, word) == 0))
                        return (int)i;
        }
        return -1;
}

int slurm_state_outcome(const char *state, enum slurm_outcome *ret, struct hoist_error **err)
{
        int i = state_index(state, strlen(state));

        if (i < 0)
                return fail(err, HOIST_ERR_PROVIDER, "Slurm reports an unknown job state", state,
                            strlen(state));
        *ret = slurm_states[i].outcome;
        return 0;
}

void slurm_job_status_clear(struct slurm_job_status *s)
{
        free(s->job_id);
        free(s->name);
        free(s->state);
        free(s->state_detail);
        free(s->reason);
        free(s->nodes);
        *s = (struct slurm_job_status){.exit_code = -1, .elapsed_s = -1, .restarts = -1};
}

static void status_init(struct slurm_job_status *s)
{
        *s = (struct slurm_job_status){.exit_code = -1, .elapsed_s = -1, .restarts = -1};
}

/* A copy of [S, S+LEN), or NULL for Slurm's ways of saying nothing. */
static char *value_or_null(const char *s, size_t len)
{
        static const char *const none[] = {"", "None", "(null)", "(None)", "N/A"};

        for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
                if (strlen(none[i]) == len && memcmp(none[i], s, len) == 0)
                        return NULL;
        return xstrndup(s, len);
}

/* Sets the state fields of RET from STATE ("CANCELLED by 0"). */
static int set_state(struct slurm_job_status *ret, const char *state, size_t len,
                     struct hoist_error **err)
{
        int i = state_index(state, len);
        size_t word = 0;

        if (i < 0)
                return fail(err, HOIST_ERR_PROVIDER, "Slurm reports an unknown job state", state,
                            len);
        while (word < len && state[word] != ' ')
                word++;
        free(ret->state);
        free(ret->state_detail);
        ret->state = xstrdup(slurm_states[i].name);
        ret->state_detail = word + 1 < len ? xstrndup(state + word + 1, len - word - 1) : NULL;
        ret->outcome = slurm_states[i].outcome;
        return 0;
}

static void set_text(char **field, const char *s, size_t len)
{
        free(*field);
        *field = value_or_null(s, len);
}

int slurm_parse_duration(const char *s, int64_t *ret_seconds)
{
        int64_t days = 0, part[3];
        size_t n = 0, len = strlen(s);
        const char *p = s, *end = s + len, *dot = memchr(s, '.', len), *dash = memchr(s, '-', len);

        if (dot != NULL) {
                if (fmt_small_number(dot + 1, (size_t)(end - dot - 1)) < 0)
                        return -1;
                end = dot;
        }
        if (dash != NULL && dash < end) {
                days = fmt_small_number(s, (size_t)(dash - s));
                if (days < 0)
                        return -1;
                p = dash + 1;
        }
        for (;;) {
                const char *colon = memchr(p, ':', (size_t)(end - p));
                const char *stop = colon != NULL ? colon : end;
                if (n == 3 || (part[n] = fmt_small_number(p, (size_t)(stop - p))) < 0)
                        return -1;
                n++;
                if (colon == NULL)
                        break;
                p = colon + 1;
        }
        if (dash != NULL && dash < end) {
                /* D-HH, D-HH:MM, D-HH:MM:SS */
                int64_t h = part[0], m = n > 1 ? part[1] : 0, sec = n > 2 ? part[2] : 0;
                if (h > 23 || m > 59 || sec > 59)
                        return -1;
                *ret_seconds = ((days * 24 + h) * 60 + m) * 60 + sec;
                return 0;
        }
        if (n == 1)
                return -1;
        if (n == 2) {
                /* MM:SS; minutes may pass 59 (squeue prints "120:00") */
                if (part[1] > 59)
                        return -1;
                *ret_seconds = part[0] * 60 + part[1];
                return 0;
        }
        if (part[1] > 59 || part[2] > 59)
                return -1;
        *ret_seconds = (part[0] * 60 + part[1]) * 60 + part[2];
        return 0;
}

int slurm_parse_exit_code(const char *s, int *ret_code, int *ret_signal)
{
        const char *colon = strchr(s, ':');
        int64_t code, sig;

        if (colon == NULL)
                return -1;
        code = fmt_small_number(s, (size_t)(colon - s));
        sig = fmt_small_number(colon + 1, strlen(colon + 1));
        if (code < 0 || code > 255 || sig < 0 || sig > 255)
                return -1;
        *ret_code = (int)code;
        *ret_signal = (int)sig;
        return 0;
}

static void set_exit_code(struct slurm_job_status *ret, const char *s, size_t len)
{
        _cleanup_free_ char *v = xstrndup(s, len);
        int code, sig;

        if (slurm_parse_exit_code(v, &code, &sig) == 0) {
                ret->exit_code = code;
                ret->exit_signal = sig;
        }
}

static void set_elapsed(struct slurm_job_status *ret, const char *s, size_t len)
{
        _cleanup_free_ char *v = xstrndup(s, len);
        int64_t secs;

        if (slurm_parse_duration(v, &secs) == 0)
                ret->elapsed_s = secs;
}

char *slurm_job_status_reason(const struct slurm_job_status *s)
{
        struct buf b = {0};

        buf_append_str(&b, s->state != NULL ? s->state : "UNKNOWN");
        if (s->state_detail != NULL)
                buf_printf(&b, " %s", s->state_detail);
        if (s->reason != NULL)
                buf_printf(&b, " (%s)", s->reason);
        if (s->outcome == SLURM_FAILED || s->outcome == SLURM_INTERRUPTED) {
                if (s->exit_signal > 0)
                        buf_printf(&b, ", signal %d", s->exit_signal);
                else if (s->exit_code > 0)
                        buf_printf(&b, ", exit code %d", s->exit_code);
        }
        return buf_take(&b);
}

/* ---- lines and fields ---- */

struct span {
        const char *p;
        size_t len;
};

/* The next line of *P (without "\r\n" or "\n"); 0 at the end. */
static int next_line(const char **p, struct span *line)
{
        const char *nl;

        if (**p == '\0')
                return 0;
        nl = strchr(*p, '\n');
        line->p = *p;
        line->len = nl != NULL ? (size_t)(nl - *p) : strlen(*p);
        *p = nl != NULL ? nl + 1 : *p + line->len;
        if (line->len > 0 && line->p[line->len - 1] == '\r')
                line->len--;
        return 1;
}

static int is_blank(struct span line)
{
        for (size_t i = 0; i < line.len; i++)
                if (!isspace((unsigned char)line.p[i]))
                        return 0;
        return 1;
}

/* Splits LINE at '|' into at most MAX fields; returns how many, or -1 past
 * MAX. */
static int split_fields(struct span line, struct span *f, int max)
{
        int n = 0;
        const char *p = line.p, *end = line.p + line.len;

        for (;;) {
                const char *bar = memchr(p, '|', (size_t)(end - p));
                const char *stop = bar != NULL ? bar : end;
                if (n == max)
                        return -1;
                f[n].p = p;
                f[n].len = (size_t)(stop - p);
                n++;
                if (bar == NULL)
                        return n;
                p = bar + 1;
        }
}

static int span_eq(struct span s, const char *str)
{
        return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static struct span trim(struct span s)
{
        while (s.len > 0 && isspace((unsigned char)s.p[0])) {
                s.p++;
                s.len--;
        }
        while (s.len > 0 && isspace((unsigned char)s.p[s.len - 1]))
                s.len--;
        return s;
}

/* Slurm's job ids are 32-bit and start at 1. */
static int job_id_ok(struct span id)
{
        uint64_t v = 0;

        if (id.len == 0 || id.len > 10)
                return 0;
        for (size_t i = 0; i < id.len; i++) {
                if (id.p[i] < '0' || id.p[i] > '9')
                        return 0;
                v = v * 10 + (uint64_t)(id.p[i] - '0');
        }
        return v > 0 && v <= UINT32_MAX;
}

int slurm_parse_sbatch(const char *out, char **ret_job_id, char **ret_cluster,
                       struct hoist_error **err)
{
        const char *p = out;
        struct span line = {0}, id, cluster = {0};
        const char *semi;
        int lines = 0;

        for (struct span l; next_line(&p, &l);)
                if (!is_blank(l)) {
                        line = trim(l);
                        lines++;
                }
        if (lines != 1)
                return fail(err, HOIST_ERR_PROVIDER, "sbatch --parsable did not print one job id",
                            out, strlen(out));
        id = line;
        semi = memchr(line.p, ';', line.len);
        if (semi != NULL) {
                id.len = (size_t)(semi - line.p);
                cluster.p = semi + 1;
                cluster.len = line.len - id.len - 1;
        }
        if (!job_id_ok(id) ||
            (semi != NULL && (cluster.len == 0 || memchr(cluster.p, ';', cluster.len) != NULL)))
                return fail(err, HOIST_ERR_PROVIDER,
                            "sbatch --parsable printed no job id (want \"ID\" or \"ID;CLUSTER\")",
                            out, strlen(out));
        for (size_t i = 0; i < cluster.len; i++)
                if (!isalnum((unsigned char)cluster.p[i]) && cluster.p[i] != '-' &&
                    cluster.p[i] != '_' && cluster.p[i] != '.')
                        return fail(err, HOIST_ERR_PROVIDER,
                                    "sbatch --parsable printed a cluster name hoist cannot use",
                                    out, strlen(out));
        *ret_job_id = xstrndup(id.p, id.len);
        *ret_cluster = semi != NULL ? xstrndup(cluster.p, cluster.len) : NULL;
        return 0;
}

/* ---- squeue ---- */

#define SLURM_MAX_FIELDS 32

/* The field letters of an squeue -o FORMAT ("%.18i|%T" -> "iT"). */
static int squeue_letters(const char *format, char *letters, struct hoist_error **err)
{
        struct span f[SLURM_MAX_FIELDS];
        int n = split_fields((struct span){format, strlen(format)}, f, SLURM_MAX_FIELDS);

        if (n < 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "squeue format '%s' has too many fields", format);
        for (int i = 0; i < n; i++) {
                size_t k = 1;
                if (f[i].len < 2 || f[i].p[0] != '%')
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "squeue format '%s': field %d is not one %%X",
                                                format, i + 1);
                while (k < f[i].len && (f[i].p[k] == '.' || isdigit((unsigned char)f[i].p[k])))
                        k++;
                if (k + 1 != f[i].len)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "squeue format '%s': field %d is not one %%X",
                                                format, i + 1);
                letters[i] = f[i].p[k];
        }
        letters[n] = '\0';
        if (strpbrk(letters, "Tt") == NULL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "squeue format '%s' needs the job state (%%T)", format);
        return n;
}

static int squeue_line(const char *letters, int n, struct span *f, struct slurm_job_status *ret,
                       struct hoist_error **err)
{
        for (int i = 0; i < n; i++) {
                struct span v = trim(f[i]);
                switch (letters[i]) {
                case 'i':
                        set_text(&ret->job_id, v.p, v.len);
                        break;
                case 'j':
                        set_text(&ret->name, v.p, v.len);
                        break;
                case 'T':
                case 't':
                        if (set_state(ret, v.p, v.len, err) < 0)
                                return -1;
                        break;
                case 'r':
                        set_text(&ret->reason, v.p, v.len);
                        break;
                case 'R':
                        /* the nodes of a running job, "(Resources)" for a waiting one */
                        if (v.len >= 2 && v.p[0] == '(' && v.p[v.len - 1] == ')')
                                set_text(&ret->reason, v.p + 1, v.len - 2);
                        else
                                set_text(&ret->nodes, v.p, v.len);
                        break;
                case 'N':
                        set_text(&ret->nodes, v.p, v.len);
                        break;
                case 'M':
                        set_elapsed(ret, v.p, v.len);
                        break;
                default:
                        break;
                }
        }
        return 0;
}

int slurm_parse_squeue(const char *format, const char *out, const char *job_id,
                       struct slurm_job_status *ret, struct hoist_error **err)
{
        char letters[SLURM_MAX_FIELDS + 1];
        int n = squeue_letters(format, letters, err), id_field = -1, found = 0;
        const char *p = out;
        struct span line;
        struct slurm_job_status s;

        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++)
                if (letters[i] == 'i')
                        id_field = i;
        status_init(&s);
        while (next_line(&p, &line)) {
                struct span f[SLURM_MAX_FIELDS + 1];
                int got;
                if (is_blank(line))
                        continue;
                got = split_fields(line, f, SLURM_MAX_FIELDS + 1);
                if (got != n) {
                        slurm_job_status_clear(&s);
                        return fail(err, HOIST_ERR_PROVIDER,
                                    "squeue printed a line that does not fit its format", line.p,
                                    line.len);
                }
                if (id_field >= 0 && !span_eq(trim(f[id_field]), job_id))
                        continue;
                if (found++ > 0 && id_field < 0) {
                        slurm_job_status_clear(&s);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "squeue printed several jobs for job %s", job_id);
                }
                slurm_job_status_clear(&s);
                if (squeue_line(letters, n, f, &s, err) < 0) {
                        slurm_job_status_clear(&s);
                        return -1;
                }
        }
        if (found == 0)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "squeue does not list job %s (it left the queue)", job_id);
        if (s.job_id == NULL)
                s.job_id = xstrdup(job_id);
        *ret = s;
        return 0;
}

/* ---- scontrol show job -o ---- */

static int is_key_byte(char c)
{
        return isalnum((unsigned char)c) || c == '_' || c == ':' || c == '/';
}

/* Whether a "Key=" starts at P (after a space). */
static size_t key_at(const char *p, const char *end)
{
        size_t k = 0;

        while (p + k < end && is_key_byte(p[k]))
                k++;
        return k > 0 && p + k < end && p[k] == '=' && isalpha((unsigned char)p[0]) ? k : 0;
}

static void scontrol_field(struct slurm_job_status *s, struct span key, struct span v,
                           int *state_ok, struct span *state)
{
        if (span_eq(key, "JobId"))
                set_text(&s->job_id, v.p, v.len);
        else if (span_eq(key, "JobName"))
                set_text(&s->name, v.p, v.len);
        else if (span_eq(key, "JobState")) {
                *state = v;
                *state_ok = 1;
        } else if (span_eq(key, "Reason"))
                set_text(&s->reason, v.p, v.len);
        else if (span_eq(key, "NodeList"))
                set_text(&s->nodes, v.p, v.len);
        else if (span_eq(key, "ExitCode"))
                set_exit_code(s, v.p, v.len);
        else if (span_eq(key, "RunTime"))
                set_elapsed(s, v.p, v.len);
        else if (span_eq(key, "Restarts"))
                s->restarts = (int)fmt_small_number(v.p, v.len);
}

/* Reads one scontrol -o line into S. */
static int scontrol_line(struct span line, struct slurm_job_status *s, struct hoist_error **err)
{
        const char *p = line.p, *end = line.p + line.len;
        struct span state = {0};
        int state_ok = 0;

        while (p < end && *p == ' ')
                p++;
        if (key_at(p, end) == 0)
                return fail(err, HOIST_ERR_PROVIDER,
                            "scontrol printed a line that is not Key=Value", line.p, line.len);
        while (p < end) {
                size_t k = key_at(p, end);
                struct span key = {p, k}, v = {p + k + 1, 0};
                const char *q = v.p;

                /* the value runs to the next " Key=" */
                while (q < end && !(*q == ' ' && key_at(q + 1, end) > 0))
                        q++;
                v.len = (size_t)(q - v.p);
                scontrol_field(s, key, trim(v), &state_ok, &state);
                p = q < end ? q + 1 : end;
        }
        if (!state_ok)
                return fail(err, HOIST_ERR_PROVIDER, "scontrol printed no JobState", line.p,
                            line.len);
        return set_state(s, state.p, state.len, err);
}

int slurm_parse_scontrol_job(const char *out, const char *job_id, struct slurm_job_status *ret,
                             struct hoist_error **err)
{
        const char *p = out;
        struct span line;

        while (next_line(&p, &line)) {
                struct slurm_job_status s;
                if (is_blank(line))
                        continue;
                status_init(&s);
                if (scontrol_line(line, &s, err) < 0) {
                        slurm_job_status_clear(&s);
                        return -1;
                }
                if (s.job_id != NULL && strcmp(s.job_id, job_id) == 0) {
                        *ret = s;
                        return 0;
                }
                slurm_job_status_clear(&s);
        }
        return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "scontrol does not show job %s", job_id);
}

/* ---- sacct -n -P ---- */

enum sacct_field {
        SACCT_SKIP,
        SACCT_JOBID,
        SACCT_NAME,
        SACCT_STATE,
        SACCT_EXIT,
        SACCT_REASON,
        SACCT_ELAPSED,
        SACCT_NODES
};

static int sacct_columns(const char *fields, enum sacct_field *cols, struct hoist_error **err)
{
        static const struct {
                const char *name;
                enum sacct_field f;
        } known[] = {{"jobid", SACCT_JOBID},   {"jobname", SACCT_NAME},  {"state", SACCT_STATE},
                     {"exitcode", SACCT_EXIT}, {"reason", SACCT_REASON}, {"elapsed", SACCT_ELAPSED},
                     {"nodelist", SACCT_NODES}};
        const char *p = fields;
        int n = 0, have_id = 0, have_state = 0;

        for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
                const char *pct = memchr(p, '%', len);
                size_t name_len = pct != NULL ? (size_t)(pct - p) : len;
                if (n == SLURM_MAX_FIELDS)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "sacct format '%s' has too many fields", fields);
                cols[n] = SACCT_SKIP;
                for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                        if (strlen(known[i].name) == name_len &&
                            strncasecmp(known[i].name, p, name_len) == 0)
                                cols[n] = known[i].f;
                have_id |= cols[n] == SACCT_JOBID;
                have_state |= cols[n] == SACCT_STATE;
                n++;
                if (comma == NULL)
                        break;
                p = comma + 1;
        }
        if (!have_id || !have_state)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "sacct format '%s' needs JobID and State", fields);
        return n;
}

static int sacct_line(const enum sacct_field *cols, int n, struct span *f,
                      struct slurm_job_status *s, struct hoist_error **err)
{
        for (int i = 0; i < n; i++) {
                struct span v = trim(f[i]);
                switch (cols[i]) {
                case SACCT_JOBID:
                        set_text(&s->job_id, v.p, v.len);
                        break;
                case SACCT_NAME:
                        set_text(&s->name, v.p, v.len);
                        break;
                case SACCT_STATE:
                        if (set_state(s, v.p, v.len, err) < 0)
                                return -1;
                        break;
                case SACCT_EXIT:
                        set_exit_code(s, v.p, v.len);
                        break;
                case SACCT_REASON:
                        set_text(&s->reason, v.p, v.len);
                        break;
                case SACCT_ELAPSED:
                        set_elapsed(s, v.p, v.len);
                        break;
                case SACCT_NODES:
                        /* "None assigned" for a job that never ran */
                        if (span_eq(v, "None assigned"))
                                v.len = 0;
                        set_text(&s->nodes, v.p, v.len);
                        break;
                case SACCT_SKIP:
                        break;
                }
        }
        return 0;
}

int slurm_parse_sacct(const char *fields, const char *out, const char *job_id,
                      struct slurm_job_status *ret, struct hoist_error **err)
{
        enum sacct_field cols[SLURM_MAX_FIELDS];
        int n = sacct_columns(fields, cols, err), id_field = 0, found = 0;
        const char *p = out;
        struct span line;
        struct slurm_job_status s;

        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++)
                if (cols[i] == SACCT_JOBID)
                        id_field = i;
        status_init(&s);
        while (next_line(&p, &line)) {
                struct span f[SLURM_MAX_FIELDS + 1];
                int got;
                if (is_blank(line))
                        continue;
                got = split_fields(line, f, SLURM_MAX_FIELDS + 1);
                if (got != n) {
                        slurm_job_status_clear(&s);
                        return fail(err, HOIST_ERR_PROVIDER,
                                    "sacct printed a line that does not fit its format", line.p,
                                    line.len);
                }
                /* the job's own line, not a step's ("12345.batch") */
                if (!span_eq(trim(f[id_field]), job_id))
                        continue;
                found = 1;
                slurm_job_status_clear(&s);
                if (sacct_line(cols, n, f, &s, err) < 0) {
                        slurm_job_status_clear(&s);
                        return -1;
                }
        }
        if (!found)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "sacct has no record of job %s",
                                        job_id);
        *ret = s;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "providers/slurm_parse.h"
#include "xalloc.h"

/* Output of Slurm 22.05 (Debian 12) captured from jobs run on a slurmctld and
 * slurmd on loopback (jobcomp/filetxt, so sacct -c): a failing, a finished, a
 * timed-out, a pending and a cancelled job, and one requeued while running. */
#define CAPTURED "tests/data/slurm"

/* One line of `scontrol show job -o 42` from Slurm 22.05, a finished job
 * whose WorkDir holds a space. */
static const char scontrol_done[] =
        "JobId=42 JobName=hoist-j-0123456789ab UserId=root(0) GroupId=root(0) MCS_label=N/A "
        "Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None "
        "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 "
        "RunTime=00:00:03 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-06T11:00:00 "
        "EligibleTime=2026-12-06T11:00:00 AccrueTime=2026-12-06T11:00:00 "
        "StartTime=2026-12-06T11:00:01 EndTime=2026-12-06T11:00:04 Deadline=N/A "
        "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-06T11:00:01 Scheduler=Main "
        "Partition=debug AllocNode:Sid=login1:4242 ReqNodeList=(null) ExcNodeList=(null) "
        "NodeList=gpu[01-02] BatchHost=gpu01 NumNodes=2 NumCPUs=2 NumTasks=2 CPUs/Task=1 "
        "ReqB:S:C:T=0:0:*:* TRES=cpu=2,mem=2G,node=2,billing=2 Socks/Node=* "
        "NtasksPerN:B:S:C=1:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryCPU=1G MinTmpDiskNode=0 "
        "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
        "Network=(null) Command=/root/.hoist/run/j-0123456789ab/job.sbatch "
        "WorkDir=/root/my project StdErr=/root/.hoist/run/j-0123456789ab/slurm.log "
        "StdIn=/dev/null StdOut=/root/.hoist/run/j-0123456789ab/slurm.log Power=\n";

static void test_states(void **state)
{
        static const struct {
                const char *state;
                enum slurm_outcome want;
        } cases[] = {
                {"PENDING", SLURM_QUEUED},
                {"PD", SLURM_QUEUED},
                {"RESV_DEL_HOLD", SLURM_QUEUED},
                {"CONFIGURING", SLURM_STARTING},
                {"CF", SLURM_STARTING},
                {"RUNNING", SLURM_RUNNING},
                {"R", SLURM_RUNNING},
                {"COMPLETING", SLURM_RUNNING},
                {"RESIZING", SLURM_RUNNING},
                {"SIGNALING", SLURM_RUNNING},
                {"SUSPENDED", SLURM_RUNNING},
                {"STOPPED", SLURM_RUNNING},
                {"COMPLETED", SLURM_SUCCEEDED},
                {"CD", SLURM_SUCCEEDED},
                {"FAILED", SLURM_FAILED},
                {"OUT_OF_MEMORY", SLURM_FAILED},
                {"OOM", SLURM_FAILED},
                {"DEADLINE", SLURM_FAILED},
                {"SPECIAL_EXIT", SLURM_FAILED},
                {"CANCELLED", SLURM_CANCELED},
                {"CANCELLED by 0", SLURM_CANCELED},
                {"CA", SLURM_CANCELED},
                {"REVOKED", SLURM_CANCELED},
                {"TIMEOUT", SLURM_INTERRUPTED},
                {"TO", SLURM_INTERRUPTED},
                {"PREEMPTED", SLURM_INTERRUPTED},
                {"NODE_FAIL", SLURM_INTERRUPTED},
                {"NF", SLURM_INTERRUPTED},
                {"BOOT_FAIL", SLURM_INTERRUPTED},
                {"REQUEUED", SLURM_QUEUED},
                {"REQUEUE_HOLD", SLURM_QUEUED},
                {"REQUEUE_FED", SLURM_QUEUED},
        };
        struct hoist_error *err = NULL;
        enum slurm_outcome o;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                assert_int_equal(slurm_state_outcome(cases[i].state, &o, &err), 0);
                if (o != cases[i].want)
                        fail_msg("%s: got %s, want %s", cases[i].state, slurm_outcome_name(o),
                                 slurm_outcome_name(cases[i].want));
        }
        assert_int_equal(slurm_state_outcome("running", &o, &err), -1);
        assert_string_equal(err->msg, "Slurm reports an unknown job state: 'running'");
        assert_int_equal(err->code, HOIST_ERR_PROVIDER);
        hoist_error_release(&err);
        assert_int_equal(slurm_state_outcome("", &o, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(slurm_state_outcome("PENDING\x1b[31m", &o, &err), -1);
        assert_string_equal(err->msg, "Slurm reports an unknown job state: 'PENDING?[31m'");
        hoist_error_release(&err);
        assert_string_equal(slurm_outcome_name(SLURM_INTERRUPTED), "interrupted");
        assert_string_equal(slurm_outcome_name(SLURM_STARTING), "starting");
}

static void test_sbatch(void **state)
{
        static const char *const bad[] = {
                "",
                "\n",
                "sbatch: error: Batch job submission failed: Invalid account or account/partition "
                "combination specified\n",
                "Submitted batch job 12345\n",
                "12345;\n",
                "12345;a;b\n",
                "12345;clu ster\n",
                "0\n",
                "-1\n",
                "4294967296\n",
                "12345\n12346\n",
                "12a\n",
        };
        _cleanup_free_ char *id = NULL;
        _cleanup_free_ char *cluster = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(slurm_parse_sbatch("12345\n", &id, &cluster, &err), 0);
        assert_string_equal(id, "12345");
        assert_null(cluster);
        free(id);
        assert_int_equal(slurm_parse_sbatch("  812;hoisttest\r\n", &id, &cluster, &err), 0);
        assert_string_equal(id, "812");
        assert_string_equal(cluster, "hoisttest");
        free(id);
        free(cluster);
        cluster = NULL;
        assert_int_equal(slurm_parse_sbatch("4294967295\n", &id, &cluster, &err), 0);
        assert_string_equal(id, "4294967295");
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char *bid = NULL, *bcluster = NULL;
                if (slurm_parse_sbatch(bad[i], &bid, &bcluster, &err) == 0)
                        fail_msg("'%s' parsed as job %s", bad[i], bid);
                assert_null(bid);
                assert_non_null(strstr(err->msg, "sbatch --parsable"));
                hoist_error_release(&err);
        }
}

static void test_squeue(void **state)
{
        struct slurm_job_status s;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *why = NULL;

        (void)state;
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT,
                                            "46|hoist-j-1|PENDING|Priority||0:00\n", "46", &s,
                                            &err),
                         0);
        assert_string_equal(s.job_id, "46");
        assert_string_equal(s.name, "hoist-j-1");
        assert_string_equal(s.state, "PENDING");
        assert_int_equal(s.outcome, SLURM_QUEUED);
        assert_string_equal(s.reason, "Priority");
        assert_null(s.nodes);
        assert_int_equal(s.elapsed_s, 0);
        why = slurm_job_status_reason(&s);
        assert_string_equal(why, "PENDING (Priority)");
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT,
                                            "47|hoist-j-2|RUNNING|None|gpu[01-02]|1-01:02:03\n",
                                            "47", &s, &err),
                         0);
        assert_int_equal(s.outcome, SLURM_RUNNING);
        assert_null(s.reason);
        assert_string_equal(s.nodes, "gpu[01-02]");
        assert_int_equal(s.elapsed_s, 90123);
        slurm_job_status_clear(&s);

        /* compact states and widths, %R's parenthesised reason; the
         * line of the right job */
        assert_int_equal(slurm_parse_squeue("%.18i|%.2t|%R",
                                            "                48|PD|(QOSMaxJobsPerUserLimit)\n"
                                            "                49|R|(None)\n",
                                            "48", &s, &err),
                         0);
        assert_string_equal(s.state, "PENDING");
        assert_string_equal(s.reason, "QOSMaxJobsPerUserLimit");
        assert_null(s.nodes);
        slurm_job_status_clear(&s);
        assert_int_equal(slurm_parse_squeue("%.18i|%.2t|%R", "                49|R|gpu[01-02]\n",
                                            "49", &s, &err),
                         0);
        assert_null(s.reason);
        assert_string_equal(s.nodes, "gpu[01-02]");
        slurm_job_status_clear(&s);

        /* no line: the job left the queue */
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, "", "50", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, "49|x|RUNNING|None|n1|0:01\n",
                                            "50", &s, &err),
                         -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);

        /* a line that does not fit, an unknown state */
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, "50|x|RUNNING\n", "50", &s, &err),
                         -1);
        assert_string_equal(err->msg, "squeue printed a line that does not fit its format: "
                                      "'50|x|RUNNING'");
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, "50|x|NAPPING|None|n1|0:01\n",
                                            "50", &s, &err),
                         -1);
        assert_non_null(strstr(err->msg, "unknown job state: 'NAPPING'"));
        hoist_error_release(&err);

        /* formats hoist cannot read */
        assert_int_equal(slurm_parse_squeue("%i|%r", "50|None\n", "50", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_squeue("%i %T", "50 RUNNING\n", "50", &s, &err), -1);
        hoist_error_release(&err);
        /* without %i, one line only */
        assert_int_equal(slurm_parse_squeue("%T", "RUNNING\nPENDING\n", "50", &s, &err), -1);
        assert_non_null(strstr(err->msg, "several jobs"));
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_squeue("%T", "RUNNING\n", "50", &s, &err), 0);
        assert_string_equal(s.job_id, "50");
        slurm_job_status_clear(&s);
}

static void test_scontrol(void **state)
{
        struct slurm_job_status s;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(slurm_parse_scontrol_job(scontrol_done, "42", &s, &err), 0);
        assert_string_equal(s.job_id, "42");
        assert_string_equal(s.name, "hoist-j-0123456789ab");
        assert_string_equal(s.state, "COMPLETED");
        assert_int_equal(s.outcome, SLURM_SUCCEEDED);
        assert_null(s.reason);
        assert_string_equal(s.nodes, "gpu[01-02]");
        assert_int_equal(s.exit_code, 0);
        assert_int_equal(s.exit_signal, 0);
        assert_int_equal(s.elapsed_s, 3);
        assert_int_equal(s.restarts, 0);
        slurm_job_status_clear(&s);

        /* a reason with spaces, a failed job's exit code, requeues */
        assert_int_equal(
                slurm_parse_scontrol_job(
                        "JobId=7 JobName=my job UserId=u(1000) JobState=PENDING "
                        "Reason=ReqNodeNotAvail, May be reserved for other job "
                        "Dependency=(null) Requeue=1 Restarts=2 ExitCode=0:0 RunTime=00:00:00 "
                        "NodeList=(null) Command=/bin/sh -c sleep\n",
                        "7", &s, &err),
                0);
        assert_string_equal(s.name, "my job");
        assert_string_equal(s.reason, "ReqNodeNotAvail, May be reserved for other job");
        assert_null(s.nodes);
        assert_int_equal(s.restarts, 2);
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_scontrol_job("JobId=8 JobState=FAILED Reason=NonZeroExitCode "
                                                  "ExitCode=3:0 RunTime=00:01:00\n",
                                                  "8", &s, &err),
                         0);
        assert_int_equal(s.outcome, SLURM_FAILED);
        assert_int_equal(s.exit_code, 3);
        {
                _cleanup_free_ char *why = slurm_job_status_reason(&s);
                assert_string_equal(why, "FAILED (NonZeroExitCode), exit code 3");
        }
        slurm_job_status_clear(&s);

        /* an array's several lines: the one asked for */
        assert_int_equal(
                slurm_parse_scontrol_job("JobId=9 ArrayJobId=9 ArrayTaskId=1 JobState=RUNNING\n"
                                         "JobId=10 ArrayJobId=9 ArrayTaskId=2 "
                                         "JobState=TIMEOUT Reason=TimeLimit\n",
                                         "10", &s, &err),
                0);
        assert_int_equal(s.outcome, SLURM_INTERRUPTED);
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_scontrol_job("", "42", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_scontrol_job(scontrol_done, "43", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(
                slurm_parse_scontrol_job("slurm_load_jobs error: Invalid job id specified\n", "42",
                                         &s, &err),
                -1);
        assert_non_null(strstr(err->msg, "not Key=Value"));
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_scontrol_job("JobId=42 Reason=None\n", "42", &s, &err), -1);
        assert_non_null(strstr(err->msg, "no JobState"));
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_scontrol_job("JobId=42 JobState=\n", "42", &s, &err), -1);
        assert_non_null(strstr(err->msg, "unknown job state"));
        hoist_error_release(&err);
}

static void test_sacct(void **state)
{
        static const char failed[] = "42|hoist-j-1|FAILED|3:0|NonZeroExitCode|00:00:02|n1\n"
                                     "42.batch|batch|FAILED|3:0||00:00:02|n1\n"
                                     "42.extern|extern|COMPLETED|0:0||00:00:02|n1\n";
        struct slurm_job_status s;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *why = NULL;

        (void)state;
        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS, failed, "42", &s, &err), 0);
        assert_string_equal(s.state, "FAILED");
        assert_int_equal(s.outcome, SLURM_FAILED);
        assert_int_equal(s.exit_code, 3);
        assert_string_equal(s.reason, "NonZeroExitCode");
        assert_string_equal(s.nodes, "n1");
        assert_int_equal(s.elapsed_s, 2);
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS,
                                           "43|hoist-j-2|CANCELLED by 0|0:15|None|00:01:05|n1\n"
                                           "43.batch|batch|CANCELLED|0:15||00:01:05|n1\n",
                                           "43", &s, &err),
                         0);
        assert_string_equal(s.state, "CANCELLED");
        assert_string_equal(s.state_detail, "by 0");
        assert_int_equal(s.outcome, SLURM_CANCELED);
        assert_int_equal(s.exit_signal, 15);
        assert_int_equal(s.elapsed_s, 65);
        why = slurm_job_status_reason(&s);
        assert_string_equal(why, "CANCELLED by 0");
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS,
                                           "44|hoist-j-3|OUT_OF_MEMORY|0:125|None|00:10:00|n1\n",
                                           "44", &s, &err),
                         0);
        assert_int_equal(s.outcome, SLURM_FAILED);
        {
                _cleanup_free_ char *w = slurm_job_status_reason(&s);
                assert_string_equal(w, "OUT_OF_MEMORY, signal 125");
        }
        slurm_job_status_clear(&s);

        /* a job that never ran; the last of sacct -D's attempts */
        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS,
                                           "45|j|PENDING|0:0|Resources|00:00:00|None assigned\n",
                                           "45", &s, &err),
                         0);
        assert_null(s.nodes);
        slurm_job_status_clear(&s);
        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS,
                                           "46|j|NODE_FAIL|0:0|None|00:03:00|gpu[01-02]\n"
                                           "46.batch|batch|CANCELLED|0:9||00:03:00|gpu01\n"
                                           "46|j|RUNNING|0:0|None|00:00:10|gpu[03-04]\n",
                                           "46", &s, &err),
                         0);
        assert_int_equal(s.outcome, SLURM_RUNNING);
        assert_string_equal(s.nodes, "gpu[03-04]");
        slurm_job_status_clear(&s);

        /* the fields jobcomp/filetxt gives (sacct -c), in any case */
        assert_int_equal(
                slurm_parse_sacct("jobid,state,exitcode%10", "47|TIMEOUT|0:0\n", "47", &s, &err),
                0);
        assert_int_equal(s.outcome, SLURM_INTERRUPTED);
        assert_null(s.reason);
        slurm_job_status_clear(&s);

        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS, "", "48", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS,
                                           "48.batch|b|FAILED|1:0||00:00:01|n\n", "48", &s, &err),
                         -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_sacct(SLURM_SACCT_FIELDS, "48|a|b|FAILED|1:0||00:00:01|n\n",
                                           "48", &s, &err),
                         -1);
        assert_non_null(strstr(err->msg, "does not fit its format"));
        hoist_error_release(&err);
        assert_int_equal(slurm_parse_sacct("JobID,ExitCode", "48|0:0\n", "48", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        hoist_error_release(&err);
}

static void test_duration_and_exit_code(void **state)
{
        static const struct {
                const char *s;
                int64_t want;
        } good[] = {
                {"0:00", 0},        {"1:02", 62},          {"120:00", 7200},       {"00:00:03", 3},
                {"1:02:03", 3723},  {"1-00:00:00", 86400}, {"2-03:04:05", 183845}, {"1-02", 93600},
                {"1-02:03", 93780}, {"00:00:01.500", 1},
        };
        static const char *const bad[] = {
                "",      "5",          "UNLIMITED", "INVALID", "N/A",           "1:60", "1:2:3:4",
                "-1:00", "1-24:00:00", "a:00",      "1:00.",   "1234567890:00", ":",    "1::2"};
        int64_t v;
        int code, sig;

        (void)state;
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                v = -7;
                assert_int_equal(slurm_parse_duration(good[i].s, &v), 0);
                if (v != good[i].want)
                        fail_msg("'%s': %lld, want %lld", good[i].s, (long long)v,
                                 (long long)good[i].want);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (slurm_parse_duration(bad[i], &v) == 0)
                        fail_msg("'%s' parsed as %lld", bad[i], (long long)v);

        assert_int_equal(slurm_parse_exit_code("0:15", &code, &sig), 0);
        assert_int_equal(code, 0);
        assert_int_equal(sig, 15);
        assert_int_equal(slurm_parse_exit_code("3:0", &code, &sig), 0);
        assert_int_equal(code, 3);
        assert_int_equal(slurm_parse_exit_code("255:0", &code, &sig), 0);
        assert_int_equal(slurm_parse_exit_code("256:0", &code, &sig), -1);
        assert_int_equal(slurm_parse_exit_code("3", &code, &sig), -1);
        assert_int_equal(slurm_parse_exit_code("", &code, &sig), -1);
        assert_int_equal(slurm_parse_exit_code("a:b", &code, &sig), -1);
}

static char *captured(const char *name)
{
        _cleanup_free_ char *path = path_join(CAPTURED, name);
        struct hoist_error *err = NULL;
        char *data = NULL;
        size_t len;

        if (fs_read_file(path, &data, &len, &err) < 0)
                fail_msg("%s", err->msg);
        return data;
}

/* Line N (from 1) of a captured file. */
static char *captured_line(const char *name, int n)
{
        _cleanup_free_ char *all = captured(name);
        char *p = all, *nl;

        for (int i = 1; i < n; i++) {
                p = strchr(p, '\n');
                assert_non_null(p);
                p++;
        }
        nl = strchr(p, '\n');
        return xstrndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
}

static void expect(int r, struct slurm_job_status *s, enum slurm_outcome outcome,
                   const char *reason)
{
        _cleanup_free_ char *why = NULL;

        assert_int_equal(r, 0);
        why = slurm_job_status_reason(s);
        if (s->outcome != outcome || strcmp(why, reason) != 0)
                fail_msg("job %s: %s '%s', want %s '%s'", s->job_id, slurm_outcome_name(s->outcome),
                         why, slurm_outcome_name(outcome), reason);
}

static void test_captured_sbatch_squeue(void **state)
{
        _cleanup_free_ char *sbatch = captured("sbatch.txt");
        _cleanup_free_ char *squeue = captured("squeue.txt");
        _cleanup_free_ char *compact = captured("squeue-compact.txt");
        _cleanup_free_ char *requeued = captured("squeue-requeued.txt");
        _cleanup_free_ char *id = NULL;
        _cleanup_free_ char *cluster = NULL;
        struct hoist_error *err = NULL;
        struct slurm_job_status s;

        (void)state;
        assert_int_equal(slurm_parse_sbatch(sbatch, &id, &cluster, &err), 0);
        assert_string_equal(id, "1");
        assert_null(cluster);

        expect(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, squeue, "3", &s, &err), &s, SLURM_RUNNING,
               "RUNNING");
        assert_string_equal(s.nodes, "vm");
        assert_int_equal(s.elapsed_s, 2);
        assert_string_equal(s.name, "hoist-long");
        slurm_job_status_clear(&s);
        expect(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, squeue, "4", &s, &err), &s, SLURM_QUEUED,
               "PENDING (Resources)");
        assert_null(s.nodes);
        slurm_job_status_clear(&s);
        expect(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, squeue, "5", &s, &err), &s, SLURM_QUEUED,
               "PENDING (Priority)");
        slurm_job_status_clear(&s);
        /* finished jobs leave squeue's output */
        assert_int_equal(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, squeue, "1", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);

        expect(slurm_parse_squeue("%.18i|%.2t|%R", compact, "3", &s, &err), &s, SLURM_RUNNING,
               "RUNNING");
        assert_string_equal(s.nodes, "vm");
        slurm_job_status_clear(&s);
        expect(slurm_parse_squeue("%.18i|%.2t|%R", compact, "4", &s, &err), &s, SLURM_QUEUED,
               "PENDING (Resources)");
        slurm_job_status_clear(&s);
        expect(slurm_parse_squeue(SLURM_SQUEUE_FORMAT, requeued, "6", &s, &err), &s, SLURM_QUEUED,
               "PENDING (BeginTime)");
        slurm_job_status_clear(&s);
}

static void test_captured_scontrol(void **state)
{
        static const struct {
                const char *file;
                int line;
                const char *id;
                enum slurm_outcome outcome;
                const char *reason;
                int exit_code, restarts;
        } cases[] = {
                {"scontrol.txt", 1, "1", SLURM_FAILED, "FAILED (NonZeroExitCode), exit code 3", 3,
                 0},
                {"scontrol.txt", 2, "2", SLURM_SUCCEEDED, "COMPLETED", 0, 0},
                {"scontrol.txt", 3, "3", SLURM_RUNNING, "RUNNING", 0, 0},
                {"scontrol.txt", 4, "4", SLURM_QUEUED, "PENDING (Resources)", 0, 0},
                {"scontrol.txt", 5, "5", SLURM_QUEUED, "PENDING (Priority)", 0, 0},
                /* scontrol requeue of a running job: COMPLETING, then PENDING */
                {"scontrol-ended.txt", 1, "6", SLURM_RUNNING, "COMPLETING", 0, 1},
                {"scontrol-ended.txt", 2, "6", SLURM_QUEUED, "PENDING (BeginTime)", 0, 1},
                {"scontrol-ended.txt", 3, "6", SLURM_CANCELED, "CANCELLED", 0, 1},
                {"scontrol-ended.txt", 4, "3", SLURM_INTERRUPTED,
                 "TIMEOUT (TimeLimit), signal 15" /* ExitCode=0:15 */, 0, 0},
        };
        struct hoist_error *err = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *line = captured_line(cases[i].file, cases[i].line);
                struct slurm_job_status s;
                expect(slurm_parse_scontrol_job(line, cases[i].id, &s, &err), &s, cases[i].outcome,
                       cases[i].reason);
                assert_int_equal(s.exit_code, cases[i].exit_code);
                assert_int_equal(s.restarts, cases[i].restarts);
                assert_non_null(s.name);
                slurm_job_status_clear(&s);
        }
}

static void test_captured_sacct(void **state)
{
        _cleanup_free_ char *sacct = captured("sacct.txt");
        _cleanup_free_ char *small = captured("sacct-jobcomp-fields.txt");
        struct hoist_error *err = NULL;
        struct slurm_job_status s;

        (void)state;
        expect(slurm_parse_sacct(SLURM_SACCT_FIELDS, sacct, "1", &s, &err), &s, SLURM_FAILED,
               "FAILED, exit code 3");
        assert_string_equal(s.name, "hoist-j-0123456789ab");
        slurm_job_status_clear(&s);
        expect(slurm_parse_sacct(SLURM_SACCT_FIELDS, sacct, "2", &s, &err), &s, SLURM_SUCCEEDED,
               "COMPLETED");
        slurm_job_status_clear(&s);
        expect(slurm_parse_sacct(SLURM_SACCT_FIELDS, sacct, "3", &s, &err), &s, SLURM_INTERRUPTED,
               "TIMEOUT");
        assert_int_equal(s.elapsed_s, 81);
        slurm_job_status_clear(&s);
        expect(slurm_parse_sacct(SLURM_SACCT_FIELDS, sacct, "4", &s, &err), &s, SLURM_CANCELED,
               "CANCELLED");
        assert_null(s.nodes);
        slurm_job_status_clear(&s);
        /* the requeued job's last record */
        expect(slurm_parse_sacct(SLURM_SACCT_FIELDS, sacct, "6", &s, &err), &s, SLURM_CANCELED,
               "CANCELLED");
        slurm_job_status_clear(&s);
        expect(slurm_parse_sacct("jobid,state,exitcode", small, "1", &s, &err), &s, SLURM_FAILED,
               "FAILED, exit code 3");
        slurm_job_status_clear(&s);
        assert_int_equal(slurm_parse_sacct("jobid,state,exitcode", small, "7", &s, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_states),
                cmocka_unit_test(test_sbatch),
                cmocka_unit_test(test_squeue),
                cmocka_unit_test(test_scontrol),
                cmocka_unit_test(test_sacct),
                cmocka_unit_test(test_duration_and_exit_code),
                cmocka_unit_test(test_captured_sbatch_squeue),
                cmocka_unit_test(test_captured_scontrol),
                cmocka_unit_test(test_captured_sacct),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "distenv.h"
#include "entrypoint/launch.h"
#include "fsutil.h"
#include "xalloc.h"

/* Real environments captured from srun on tests/peers/slurm.sh. */
#define CAPTURED "tests/data/distenv"

extern char **environ;

/* Every variable an engine reads, unset, so each test starts from none. */
static void clear_engines(void)
{
        static const char *const prefixes[] = {
                "SLURM_",     "JOB_COMPLETION_INDEX", "HOIST_NUM_NODES",
                "HOIST_K8S_", "HOIST_NODE_",          "HOIST_SAGEMAKER_",
                NULL};
        for (;;) {
                char *found = NULL;
                for (char **e = environ; *e != NULL && found == NULL; e++)
                        for (const char *const *p = prefixes; *p; p++)
                                if (strncmp(*e, *p, strlen(*p)) == 0) {
                                        found = xstrndup(*e, strcspn(*e, "="));
                                        break;
                                }
                if (found == NULL)
                        break;
                unsetenv(found);
                free(found);
        }
        setenv("HOIST_SAGEMAKER_RESOURCECONFIG", "/nonexistent/resourceconfig.json", 1);
}

/* "K=V" lines of FILE into the environment. */
static void load_env_file(const char *file)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        char *line, *save = NULL;

        assert_int_equal(fs_read_file(file, &text, &len, NULL), 0);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                assert_non_null(eq);
                *eq = '\0';
                setenv(line, eq + 1, 1);
        }
}

/* The placement as "rank/nodes slot hosts..." or "ERROR: message". */
static char *placed(enum distenv_engine engine)
{
        struct distenv d = {0};
        struct hoist_error *err = NULL;
        struct buf b = {0};

        if (distenv_read(engine, &d, &err) < 0) {
                char *m = xasprintf("ERROR: %s", err->msg);
                hoist_error_free(err);
                return m;
        }
        assert_null(err);
        buf_printf(&b, "%lld/%lld %lld", (long long)d.node_rank, (long long)d.num_nodes,
                   (long long)d.local_slot);
        for (int64_t i = 0; i < d.num_nodes; i++)
                buf_printf(&b, " %s", d.hosts[i]);
        assert_null(d.hosts[d.num_nodes]);
        distenv_clear(&d);
        return buf_take(&b);
}

#define check_placed(engine, want)                                                                 \
        do {                                                                                       \
                _cleanup_free_ char *got_ = placed(engine);                                        \
                if (strcmp(got_, want) != 0)                                                       \
                        fail_msg("got '%s', want '%s'", got_, want);                               \
        } while (0)

#define check_error(engine, needle)                                                                \
        do {                                                                                       \
                _cleanup_free_ char *got_ = placed(engine);                                        \
                if (strncmp(got_, "ERROR: ", 7) != 0 || strstr(got_, needle) == NULL)              \
                        fail_msg("got '%s', want an error with '%s'", got_, needle);               \
        } while (0)

static void test_detect(void **state)
{
        (void)state;
        clear_engines();
        assert_int_equal(distenv_detect(), DISTENV_SINGLE);
        check_placed(DISTENV_SINGLE, "0/1 0 127.0.0.1");
        setenv("HOIST_NODE_HOSTS", "a,b", 1);
        assert_int_equal(distenv_detect(), DISTENV_HOIST);
        setenv("HOIST_SAGEMAKER_RESOURCECONFIG", CAPTURED "/resourceconfig-2.json", 1);
        assert_int_equal(distenv_detect(), DISTENV_SAGEMAKER);
        setenv("JOB_COMPLETION_INDEX", "0", 1);
        assert_int_equal(distenv_detect(), DISTENV_KUBERNETES);
        setenv("SLURM_JOB_ID", "1", 1);
        assert_int_equal(distenv_detect(), DISTENV_KUBERNETES); /* no SLURM_PROCID: not a task */
        setenv("SLURM_PROCID", "0", 1);
        assert_int_equal(distenv_detect(), DISTENV_SLURM);
        clear_engines();
}

static void test_slurm_captured(void **state)
{
        (void)state;
        clear_engines();
        load_env_file(CAPTURED "/srun-N1-n2-rank0.env");
        assert_int_equal(distenv_detect(), DISTENV_SLURM);
        check_placed(DISTENV_SLURM, "0/2 0 vm vm");
        clear_engines();
        load_env_file(CAPTURED "/sbatch-srun-n2-rank1.env");
        check_placed(DISTENV_SLURM, "1/2 1 vm vm");
        clear_engines();
}

/* A job's variables as srun gives them: the step's win over the job's. */
static void set_slurm(const char *nodelist, const char *tasks, const char *ntasks,
                      const char *procid, const char *nodeid, const char *localid)
{
        clear_engines();
        setenv("SLURM_JOB_ID", "12", 1);
        setenv("SLURM_JOB_NODELIST", nodelist, 1);
        if (tasks)
                setenv("SLURM_TASKS_PER_NODE", tasks, 1);
        setenv("SLURM_NTASKS", ntasks, 1);
        setenv("SLURM_PROCID", procid, 1);
        if (nodeid)
                setenv("SLURM_NODEID", nodeid, 1);
        if (localid)
                setenv("SLURM_LOCALID", localid, 1);
}

static void test_slurm_placement(void **state)
{
        (void)state;
        /* 2(x3),1 over gpu[01-03],cpu-a1: ranks 0-1, 2-3, 4-5 on gpus, 6 on cpu-a1 */
        set_slurm("gpu[01-03],cpu-a1", "2(x3),1", "7", "5", "2", "1");
        check_placed(DISTENV_SLURM, "5/7 1 gpu01 gpu01 gpu02 gpu02 gpu03 gpu03 cpu-a1");
        set_slurm("gpu[01-03],cpu-a1", "2(x3),1", "7", "6", "3", "0");
        check_placed(DISTENV_SLURM, "6/7 0 gpu01 gpu01 gpu02 gpu02 gpu03 gpu03 cpu-a1");
        /* one task per node, as most clusters run one hoist node per host */
        set_slurm("gpu[01-04,07]", "1(x5)", "5", "4", "4", "0");
        check_placed(DISTENV_SLURM, "4/5 0 gpu01 gpu02 gpu03 gpu04 gpu07");
        /* no SLURM_TASKS_PER_NODE: one task per host */
        set_slurm("n[1-2]", NULL, "2", "1", NULL, NULL);
        check_placed(DISTENV_SLURM, "1/2 0 n1 n2");
        /* the step's own variables win */
        set_slurm("n[1-4]", "1(x4)", "4", "1", "1", "0");
        setenv("SLURM_STEP_NODELIST", "n[3-4]", 1);
        setenv("SLURM_STEP_TASKS_PER_NODE", "1(x2)", 1);
        setenv("SLURM_STEP_NUM_TASKS", "2", 1);
        check_placed(DISTENV_SLURM, "1/2 0 n3 n4");
        clear_engines();
}

static void test_slurm_errors(void **state)
{
        (void)state;
        set_slurm("n[1-2]", "2,1", "3", "3", NULL, NULL);
        check_error(DISTENV_SLURM, "SLURM_PROCID='3' is not a whole number from 0 to 2");
        set_slurm("n[1-2]", "2,1", "4", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "SLURM_TASKS_PER_NODE='2,1' adds up to 3 tasks but "
                                   "SLURM_NTASKS=4");
        set_slurm("n[1-3]", "2,1", "3", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "gives 2 hosts but SLURM_JOB_NODELIST='n[1-3]' has 3");
        set_slurm("n[1-2", "2,1", "3", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "Slurm: SLURM_JOB_NODELIST");
        set_slurm("n[1-2]", "2(x1", "3", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "SLURM_TASKS_PER_NODE='2(x1': column 5");
        set_slurm("n[1-2]", NULL, "3", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "SLURM_TASKS_PER_NODE is not set and SLURM_NTASKS=3");
        set_slurm("n[1-2]", "2,2", "4", "1", "1", "0"); /* cyclic: rank 1 on the second host */
        check_error(DISTENV_SLURM, "--distribution=block");
        set_slurm("n[1-2]", "2,2", "4", "1", "0", "0");
        check_error(DISTENV_SLURM, "SLURM_LOCALID=0 but is task 1");
        set_slurm("n1", "1", "x", "0", NULL, NULL);
        check_error(DISTENV_SLURM, "SLURM_NTASKS='x' is not a whole number");
        clear_engines();
        setenv("SLURM_JOB_ID", "1", 1);
        setenv("SLURM_PROCID", "0", 1);
        setenv("SLURM_NTASKS", "1", 1);
        check_error(DISTENV_SLURM, "SLURM_JOB_NODELIST is not set");
        clear_engines();
}

/* SLURM_TASKS_PER_NODE joined with ',', or "ERROR: message". */
static char *tasks(const char *s)
{
        _cleanup_free_ int64_t *counts = NULL;
        struct hoist_error *err = NULL;
        struct buf b = {0};
        size_t n = 0;

        if (distenv_parse_tasks_per_node(s, &counts, &n, &err) < 0) {
                char *m = xasprintf("ERROR: %s", err->msg);
                hoist_error_free(err);
                return m;
        }
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "%s%lld", i ? "," : "", (long long)counts[i]);
        return buf_take(&b);
}

static void check_tasks(const char *s, const char *want)
{
        _cleanup_free_ char *got = tasks(s);

        /* an error: its start */
        if (strncmp(got, want, strncmp(want, "ERROR", 5) == 0 ? strlen(want) : strlen(got) + 1) !=
            0)
                fail_msg("'%s': got '%s', want '%s'", s, got, want);
}

static void test_tasks_per_node(void **state)
{
        (void)state;
        check_tasks("2(x3),1", "2,2,2,1");
        check_tasks("1", "1");
        check_tasks("4(x2)", "4,4");
        check_tasks("1,2(x2),3", "1,2,2,3");
        check_tasks("", "ERROR: SLURM_TASKS_PER_NODE is empty");
        check_tasks("0", "ERROR: SLURM_TASKS_PER_NODE='0': column 2");
        check_tasks("2(x0)", "ERROR: SLURM_TASKS_PER_NODE='2(x0)': column 5");
        check_tasks("2(3)", "ERROR: SLURM_TASKS_PER_NODE='2(3)': column 2");
        check_tasks("2,", "ERROR: SLURM_TASKS_PER_NODE='2,': column 3");
        check_tasks("2 ,1", "ERROR: SLURM_TASKS_PER_NODE='2 ,1': column 2");
        check_tasks("-1", "ERROR: SLURM_TASKS_PER_NODE='-1': column 1");
        check_tasks("99999999", "ERROR: SLURM_TASKS_PER_NODE='99999999': column 8");
        check_tasks("2(x40000)", "ERROR: SLURM_TASKS_PER_NODE='2(x40000)' counts more than 65536");
        check_tasks("65536,1", "ERROR: SLURM_TASKS_PER_NODE='65536,1' counts more than 65536");
}

static void set_k8s(const char *index, const char *n, const char *job, const char *sub)
{
        clear_engines();
        if (index)
                setenv("JOB_COMPLETION_INDEX", index, 1);
        if (n)
                setenv("HOIST_NUM_NODES", n, 1);
        if (job)
                setenv("HOIST_K8S_JOB_NAME", job, 1);
        if (sub)
                setenv("HOIST_K8S_SUBDOMAIN", sub, 1);
}

static void test_kubernetes(void **state)
{
        (void)state;
        set_k8s("2", "3", "hoist-j-1a2b", "hoist-j-1a2b");
        assert_int_equal(distenv_detect(), DISTENV_KUBERNETES);
        check_placed(DISTENV_KUBERNETES, "2/3 0 hoist-j-1a2b-0.hoist-j-1a2b "
                                         "hoist-j-1a2b-1.hoist-j-1a2b hoist-j-1a2b-2.hoist-j-1a2b");
        set_k8s("0", "1", "train", "svc.team");
        check_placed(DISTENV_KUBERNETES, "0/1 0 train-0.svc.team");
        set_k8s("3", "3", "train", "svc");
        check_error(DISTENV_KUBERNETES,
                    "JOB_COMPLETION_INDEX='3' is not a whole number from 0 to 2");
        set_k8s("0", NULL, "train", "svc");
        check_error(DISTENV_KUBERNETES, "HOIST_NUM_NODES is not set");
        set_k8s("0", "2", NULL, "svc");
        check_error(DISTENV_KUBERNETES, "HOIST_K8S_JOB_NAME='' is not a Job name");
        set_k8s("0", "2", "Train", "svc");
        check_error(DISTENV_KUBERNETES, "HOIST_K8S_JOB_NAME='Train' is not a Job name");
        set_k8s("0", "2", "train", "svc..x");
        check_error(DISTENV_KUBERNETES, "HOIST_K8S_SUBDOMAIN='svc..x' is not a Service name");
        set_k8s("0", "2", "train", "-svc");
        check_error(DISTENV_KUBERNETES, "HOIST_K8S_SUBDOMAIN='-svc' is not a Service name");
        clear_engines();
}

static char *sagemaker(const char *json)
{
        struct distenv d = {0};
        struct hoist_error *err = NULL;
        struct buf b = {0};

        if (distenv_from_sagemaker(json, strlen(json), "rc.json", &d, &err) < 0) {
                char *m = xasprintf("ERROR: %s", err->msg);
                hoist_error_free(err);
                return m;
        }
        buf_printf(&b, "%lld/%lld", (long long)d.node_rank, (long long)d.num_nodes);
        for (int64_t i = 0; i < d.num_nodes; i++)
                buf_printf(&b, " %s", d.hosts[i]);
        distenv_clear(&d);
        return buf_take(&b);
}

static void check_sagemaker(const char *json, const char *want)
{
        _cleanup_free_ char *got = sagemaker(json);

        if (strncmp(want, "ERROR", 5) == 0
                    ? strstr(got, want + 7) == NULL || strncmp(got, "ERROR", 5)
                    : strcmp(got, want) != 0)
                fail_msg("'%s': got '%s', want '%s'", json, got, want);
}

static void test_sagemaker(void **state)
{
        (void)state;
        clear_engines();
        /* the file as SageMaker writes it (docs: "Distributed training
         * configuration"), read through the override */
        setenv("HOIST_SAGEMAKER_RESOURCECONFIG", CAPTURED "/resourceconfig-2.json", 1);
        assert_int_equal(distenv_detect(), DISTENV_SAGEMAKER);
        check_placed(DISTENV_SAGEMAKER, "1/2 0 algo-1 algo-2");
        setenv("HOIST_SAGEMAKER_RESOURCECONFIG", CAPTURED "/no-such.json", 1);
        check_error(DISTENV_SAGEMAKER, "SageMaker resource config");
        clear_engines();

        check_sagemaker("{\"current_host\":\"algo-1\",\"hosts\":[\"algo-1\"]}", "0/1 algo-1");
        check_sagemaker(
                "{\"current_host\":\"algo-3\",\"hosts\":[\"algo-1\",\"algo-2\",\"algo-3\"]}",
                "2/3 algo-1 algo-2 algo-3");
        /* the rank is the place in the sorted list, whatever the file's order */
        check_sagemaker(
                "{\"current_host\":\"algo-1\",\"hosts\":[\"algo-3\",\"algo-1\",\"algo-2\"]}",
                "0/3 algo-1 algo-2 algo-3");
        check_sagemaker("{\"current_host\":\"b\",\"hosts\":[\"c\",\"b\",\"a\"]}", "1/3 a b c");
        check_sagemaker("{\"current_host\":\"algo-9\",\"hosts\":[\"algo-1\"]}",
                        "ERROR: current_host 'algo-9' is not in \"hosts\"");
        check_sagemaker("{\"current_host\":\"a\",\"hosts\":[]}", "ERROR: \"hosts\" has 0 entries");
        check_sagemaker("{\"current_host\":\"a\",\"hosts\":[\"a\",\"a\"]}",
                        "ERROR: host 'a' is listed twice");
        check_sagemaker("{\"current_host\":\"a\",\"hosts\":[\"a\",3]}",
                        "ERROR: hosts[1] is not a host name");
        check_sagemaker("{\"current_host\":\"a b\",\"hosts\":[\"a b\"]}",
                        "ERROR: hosts[0] is not a host name");
        check_sagemaker("{\"hosts\":[\"a\"]}", "ERROR: expected an object with \"current_host\"");
        check_sagemaker("[1]", "ERROR: expected an object");
        check_sagemaker("{\"current_host\":", "ERROR: SageMaker 'rc.json': line 1");
}

static void test_hoist_engine(void **state)
{
        (void)state;
        clear_engines();
        setenv("HOIST_NODE_HOSTS", "a,b.example,10.0.0.3", 1);
        setenv("HOIST_NODE_RANK", "2", 1);
        check_placed(DISTENV_HOIST, "2/3 0 a b.example 10.0.0.3");
        setenv("HOIST_NODE_RANK", "3", 1);
        check_error(DISTENV_HOIST, "HOIST_NODE_RANK='3' is not a whole number from 0 to 2");
        setenv("HOIST_NODE_HOSTS", "a,,b", 1);
        check_error(DISTENV_HOIST, "HOIST_NODE_HOSTS='a,,b': entry 2 is not a host name");
        clear_engines();
}

static void test_resolve(void **state)
{
        struct distenv d = {.num_nodes = 2};
        struct hoist_error *err = NULL;
        const char *hosts[] = {"127.0.0.1", "localhost", NULL};
        const char *bad[] = {"127.0.0.1", "no-such-host.invalid", NULL};
        _cleanup_strv_ char **addrs = NULL;

        (void)state;
        d.hosts = (char **)hosts;
        assert_int_equal(distenv_resolve(&d, &addrs, &err), 0);
        assert_string_equal(addrs[0], "127.0.0.1");
        assert_true(strcmp(addrs[1], "127.0.0.1") == 0 || strcmp(addrs[1], "::1") == 0);
        assert_null(addrs[2]);
        d.hosts = (char **)bad;
        assert_int_equal(distenv_resolve(&d, &addrs, &err), -1);
        assert_non_null(strstr(err->msg, "cannot resolve node 1's host 'no-such-host.invalid'"));
        hoist_error_free(err);
}

/* The launcher's argv around COMMAND, joined with ' '. */
static char *wrapped(enum jobspec_launcher launcher, char *const *command)
{
        const char *hosts[] = {"gpu01", "gpu02", NULL};
        struct launch l = {.place = {.node_rank = 1, .num_nodes = 2, .hosts = (char **)hosts},
                           .nproc = 4,
                           .launcher = launcher,
                           .port = 29500};
        _cleanup_strv_ char **v = launch_wrap(&l, command);
        struct buf b = {0};

        if (v == NULL)
                return xstrdup("NULL");
        for (size_t i = 0; v[i] != NULL; i++)
                buf_printf(&b, "%s%s", i ? " " : "", v[i]);
        return buf_take(&b);
}

#define check_wrap(launcher, want, ...)                                                            \
        do {                                                                                       \
                const char *cmd_[] = {__VA_ARGS__, NULL};                                          \
                _cleanup_free_ char *got_ = wrapped(launcher, (char *const *)cmd_);                \
                if (strcmp(got_, want) != 0)                                                       \
                        fail_msg("got '%s', want '%s'", got_, want);                               \
        } while (0)

static void test_launch_wrap(void **state)
{
        (void)state;
        check_wrap(JOBSPEC_LAUNCHER_TORCHRUN,
                   "torchrun --nnodes 2 --node_rank 1 --nproc_per_node 4 --master_addr gpu01 "
                   "--master_port 29500 train.py --lr 0.1",
                   "python3", "train.py", "--lr", "0.1");
        check_wrap(JOBSPEC_LAUNCHER_TORCHRUN,
                   "torchrun --nnodes 2 --node_rank 1 --nproc_per_node 4 --master_addr gpu01 "
                   "--master_port 29500 -m pkg.train",
                   "/usr/bin/python3.11", "-m", "pkg.train");
        check_wrap(JOBSPEC_LAUNCHER_TORCHRUN,
                   "torchrun --nnodes 2 --node_rank 1 --nproc_per_node 4 --master_addr gpu01 "
                   "--master_port 29500 --no_python python -u train.py",
                   "python", "-u", "train.py");
        check_wrap(JOBSPEC_LAUNCHER_TORCHRUN,
                   "torchrun --nnodes 2 --node_rank 1 --nproc_per_node 4 --master_addr gpu01 "
                   "--master_port 29500 --no_python ./train.sh",
                   "./train.sh");
        check_wrap(JOBSPEC_LAUNCHER_ACCELERATE,
                   "accelerate launch --num_machines 2 --machine_rank 1 --num_processes 8 "
                   "--main_process_ip gpu01 --main_process_port 29500 train.py",
                   "python", "train.py");
        check_wrap(JOBSPEC_LAUNCHER_HOIST, "NULL", "python", "train.py");
        check_wrap(JOBSPEC_LAUNCHER_NONE, "NULL", "python", "train.py");
        /* "pythonista" is not an interpreter */
        check_wrap(JOBSPEC_LAUNCHER_TORCHRUN,
                   "torchrun --nnodes 2 --node_rank 1 --nproc_per_node 4 --master_addr gpu01 "
                   "--master_port 29500 --no_python pythonista x",
                   "pythonista", "x");
}

static void test_visible_gpus(void **state)
{
        char dir[] = "/tmp/hoist-test-gpus-XXXXXX";
        static const char *const gpus[] = {"0000:3b:00.0", "0000:5e:00.0"};
        const char *nowhere = "/nonexistent/gpus";

        (void)state;
        setenv("CUDA_VISIBLE_DEVICES", "0,1,3", 1);
        assert_int_equal(launch_visible_gpus(nowhere, 0), 3);
        setenv("CUDA_VISIBLE_DEVICES", "GPU-5a3e", 1);
        assert_int_equal(launch_visible_gpus(nowhere, 0), 1);
        setenv("CUDA_VISIBLE_DEVICES", "", 1);
        assert_int_equal(launch_visible_gpus(nowhere, 1), 0);
        setenv("CUDA_VISIBLE_DEVICES", "-1", 1);
        assert_int_equal(launch_visible_gpus(nowhere, 1), 0);
        unsetenv("CUDA_VISIBLE_DEVICES");
        /* the driver's /proc entries, one directory per GPU */
        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = path_join(dir, gpus[i]);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        assert_int_equal(launch_visible_gpus(dir, 0), 2);
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = path_join(dir, gpus[i]);
                assert_int_equal(rmdir(p), 0);
        }
        assert_int_equal(rmdir(dir), 0);
        /* NVML last, and only when allowed */
        setenv("HOIST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
        assert_int_equal(launch_visible_gpus(nowhere, 1), 0);
        unsetenv("HOIST_NVML_LIBRARY");
        /* the fake NVML the Makefile builds next to this binary: 2 GPUs */
        {
                char self[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
                _cleanup_free_ char *fake = NULL, *conf = NULL;
                assert_true(n > 0);
                self[n] = '\0';
                *strrchr(self, '/') = '\0';
                fake = xasprintf("%s/fake_nvml/libnvidia-ml.so.1", self);
                assert_int_equal(access(fake, R_OK), 0);
                conf = xasprintf("/tmp/hoist-test-distenv-%d.conf", (int)getpid());
                assert_int_equal(fs_write_file_atomic(conf, "device_count=2\n", 15, 0644, NULL), 0);
                setenv("HOIST_NVML_LIBRARY", fake, 1);
                setenv("FAKE_NVML_CONFIG", conf, 1);
                assert_int_equal(launch_visible_gpus(nowhere, 1), 2);
                assert_int_equal(launch_visible_gpus(nowhere, 0), 0);
                unsetenv("HOIST_NVML_LIBRARY");
                unsetenv("FAKE_NVML_CONFIG");
                (void)unlink(conf);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detect),          cmocka_unit_test(test_slurm_captured),
                cmocka_unit_test(test_slurm_placement), cmocka_unit_test(test_slurm_errors),
                cmocka_unit_test(test_tasks_per_node),  cmocka_unit_test(test_kubernetes),
                cmocka_unit_test(test_sagemaker),       cmocka_unit_test(test_hoist_engine),
                cmocka_unit_test(test_resolve),         cmocka_unit_test(test_launch_wrap),
                cmocka_unit_test(test_visible_gpus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The training loop.  Bit-identical resume rests on three facts:
 *  - every random choice is a pure function of (seed, step): the initial
 *    weights use stream 2 of the seed, and mini-batch j of step s is the
 *    samples at positions s*batch .. s*batch+batch-1 of an endless sequence
 *    of epochs, each epoch a Fisher-Yates shuffle seeded by (seed, epoch);
 *  - the checkpoint holds everything else that changes: the weights and the
 *    momentum buffer, bit for bit (doubles stored as their IEEE-754 bits);
 *  - the arithmetic is single-threaded, in a fixed order. */
#include "train.h"
#include "checkpoint.h"
#include "dataset.h"
#include "fileio.h"
#include "mlp.h"
#include "rng.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHUFFLE_STREAM 0x5348554646000000ULL

struct train_config {
        const char *data, *test_data, *model_dir, *ckpt_dir;
        long steps, hidden, batch, ckpt_every, log_every, keep, sleep_ms;
        double lr, momentum;
        uint64_t seed;
};

enum setting_kind { SET_STR, SET_LONG, SET_DOUBLE, SET_U64 };

/* One row per setting: its flag, its environment variable, and its range.
 * Flags override the environment, which overrides the defaults. */
struct setting {
        const char *flag, *env;
        enum setting_kind kind;
        size_t offset;
        double min, max;
};

#define CFG(field) offsetof(struct train_config, field)
static const struct setting settings[] = {
        {"data", "HOIST_INPUT_TRAIN", SET_STR, CFG(data), 0, 0},
        {"test-data", "HOIST_INPUT_TEST", SET_STR, CFG(test_data), 0, 0},
        {"model-dir", "HOIST_MODEL_DIR", SET_STR, CFG(model_dir), 0, 0},
        {"checkpoint-dir", "HOIST_CHECKPOINT_DIR", SET_STR, CFG(ckpt_dir), 0, 0},
        {"steps", "HOIST_HP_STEPS", SET_LONG, CFG(steps), 0, 1e9},
        {"lr", "HOIST_HP_LR", SET_DOUBLE, CFG(lr), 1e-9, 10},
        {"momentum", "HOIST_HP_MOMENTUM", SET_DOUBLE, CFG(momentum), 0, 0.999},
        {"hidden", "HOIST_HP_HIDDEN", SET_LONG, CFG(hidden), 1, MLP_MAX_HIDDEN},
        {"batch", "HOIST_HP_BATCH", SET_LONG, CFG(batch), 1, 65536},
        {"seed", "HOIST_HP_SEED", SET_U64, CFG(seed), 0, 0},
        {"checkpoint-every", "HOIST_HP_CHECKPOINT_EVERY", SET_LONG, CFG(ckpt_every), 0, 1e9},
        {"log-every", "HOIST_HP_LOG_EVERY", SET_LONG, CFG(log_every), 1, 1e9},
        {"keep-checkpoints", "HOIST_HP_KEEP_CHECKPOINTS", SET_LONG, CFG(keep), 1, 1000},
        /* Not a real hyperparameter (but settable as one, `sleep_ms:` in a
         * job.yaml): slows each step down so that a person or a test can
         * interrupt a run part-way.  It never changes the result. */
        {"sleep-ms", "HOIST_HP_SLEEP_MS", SET_LONG, CFG(sleep_ms), 0, 60000},
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
        if (!stop_signal)
                stop_signal = sig;
}

static int apply_setting(struct train_config *cfg, const struct setting *s, const char *what,
                         const char *value)
{
        void *field = (char *)cfg + s->offset;

        switch (s->kind) {
        case SET_STR:
                if (!*value)
                        return qs_error("%s is empty", what);
                *(const char **)field = value;
                return 0;
        case SET_LONG:
                return qs_parse_long(what, value, (long)s->min, (long)s->max, field);
        case SET_DOUBLE:
                return qs_parse_double(what, value, s->min, s->max, field);
        case SET_U64:
                return qs_parse_u64(what, value, field);
        }
        return -1;
}

static void train_usage(FILE *f)
{
        fputs("usage: " PROG " [train] [--OPTION VALUE]...\n"
              "Each option can also come from its environment variable; options win.\n",
              f);
        for (size_t i = 0; i < N_SETTINGS; i++)
                fprintf(f, "  --%-18s %s\n", settings[i].flag, settings[i].env);
}

static int parse_config(int argc, char **argv, struct train_config *cfg)
{
        struct option opts[N_SETTINGS + 2];
        int c, index;

        *cfg = (struct train_config){
                .steps = 3000,
                .hidden = 16,
                .batch = 32,
                .ckpt_every = 250,
                .log_every = 100,
                .keep = 3,
                .lr = 0.05,
                .momentum = 0.9,
                .seed = 7,
        };
        for (size_t i = 0; i < N_SETTINGS; i++) {
                const char *v = getenv(settings[i].env);

                if (v && *v && apply_setting(cfg, &settings[i], settings[i].env, v) < 0)
                        return -1;
                opts[i] = (struct option){settings[i].flag, required_argument, NULL, 0};
        }
        opts[N_SETTINGS] = (struct option){"help", no_argument, NULL, 'h'};
        opts[N_SETTINGS + 1] = (struct option){0};

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, &index)) != -1) {
                char what[64];

                if (c == 'h') {
                        train_usage(stdout);
                        exit(0);
                }
                if (c != 0) {
                        train_usage(stderr);
                        return -1;
                }
                snprintf(what, sizeof(what), "--%s", settings[index].flag);
                if (apply_setting(cfg, &settings[index], what, optarg) < 0)
                        return -1;
        }
        if (optind < argc)
                return qs_error("train: unexpected argument '%s' (see '" PROG " --help')",
                                argv[optind]);
        if (!cfg->data)
                return qs_error("HOIST_INPUT_TRAIN is not set: point it (or --data) at a "
                                "directory holding train.csv; make one with '" PROG
                                " gen-data --out DIR'");
        if (!cfg->model_dir)
                return qs_error("HOIST_MODEL_DIR is not set: point it (or --model-dir) at the "
                                "directory that receives model.bin and metrics.json");
        return 0;
}

char *train_resolve_csv(const char *path, const char *name)
{
        struct stat st;
        size_t len = strlen(path) + strlen(name) + 2;
        char *out = qs_xcalloc(len, 1);

        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                snprintf(out, len, "%s/%s", path, name);
        else
                snprintf(out, len, "%s", path);
        return out;
}

/* The order samples are visited in: epoch after epoch, each a fresh shuffle
 * that depends only on (seed, epoch). */
struct sampler {
        uint64_t seed, epoch;
        size_t n, *perm;
        int ready;
};

static size_t sampler_index(struct sampler *s, uint64_t position)
{
        uint64_t epoch = position / s->n;

        if (!s->ready || epoch != s->epoch) {
                struct rng r;

                rng_seed(&r, s->seed, SHUFFLE_STREAM + epoch);
                for (size_t i = 0; i < s->n; i++)
                        s->perm[i] = i;
                for (size_t i = s->n - 1; i > 0; i--) {
                        size_t j = (size_t)rng_below(&r, (uint64_t)i + 1), t = s->perm[i];

                        s->perm[i] = s->perm[j];
                        s->perm[j] = t;
                }
                s->epoch = epoch;
                s->ready = 1;
        }
        return s->perm[position % s->n];
}

static void warn_mismatch(const struct checkpoint *c, const struct train_config *cfg,
                          uint64_t fingerprint)
{
        if (c->seed != cfg->seed || c->batch != (uint32_t)cfg->batch || c->lr != cfg->lr ||
            c->momentum != cfg->momentum)
                qs_warn("the checkpoint was written with seed=%" PRIu64 " batch=%" PRIu32
                        " lr=%g momentum=%g; this run uses seed=%" PRIu64
                        " batch=%ld lr=%g momentum=%g, so it will not match an "
                        "uninterrupted run",
                        c->seed, c->batch, c->lr, c->momentum, cfg->seed, cfg->batch, cfg->lr,
                        cfg->momentum);
        if (c->data_fingerprint != fingerprint)
                qs_warn("the training data changed since the checkpoint was written; "
                        "continuing with the new data");
}

/* Sets up st from the newest valid checkpoint, or from scratch.  Returns -1
 * when the checkpoint cannot continue this run. */
static int restore_or_init(const struct train_config *cfg, const struct dataset *train,
                           struct checkpoint *st)
{
        uint64_t fingerprint = dataset_fingerprint(train);
        int r = 0;

        if (cfg->ckpt_dir) {
                if (dir_ensure("checkpoint directory", cfg->ckpt_dir) < 0)
                        return -1;
                checkpoint_clean_temp(cfg->ckpt_dir);
                r = checkpoint_restore(cfg->ckpt_dir, st);
                if (r < 0)
                        return -1;
        }
        if (r == 1) {
                if (st->model.hidden != cfg->hidden || st->model.classes != train->classes) {
                        qs_error("the checkpoint in '%s' has hidden=%d classes=%d, but this run "
                                 "has hidden=%ld classes=%d (use the same hyperparameters and "
                                 "data, or an empty HOIST_CHECKPOINT_DIR to start over)",
                                 cfg->ckpt_dir, st->model.hidden, st->model.classes, cfg->hidden,
                                 train->classes);
                        checkpoint_free(st);
                        return -1;
                }
                warn_mismatch(st, cfg, fingerprint);
                printf("{\"event\": \"resumed\", \"step\": %" PRIu64 "}\n", st->step);
                /* hoist-entrypoint says which step it restored (the largest
                 * number in our ckpt-<step>.bin names); a fallback to an
                 * older file is worth a line. */
                const char *restored = getenv("HOIST_RESUME_STEP");
                if (restored != NULL && strtoull(restored, NULL, 10) > 0 &&
                    strtoull(restored, NULL, 10) != st->step)
                        qs_warn("resumed at step %" PRIu64 ", not at step %s that "
                                "HOIST_RESUME_STEP names",
                                st->step, restored);
                fflush(stdout);
        } else {
                mlp_init(&st->model, DATASET_FEATURES, (int)cfg->hidden, train->classes);
                mlp_randomize(&st->model, cfg->seed);
                st->velocity = qs_xcalloc(st->model.nparams, sizeof(double));
                st->step = 0;
        }
        /* The run's own settings are what its checkpoints record. */
        st->seed = cfg->seed;
        st->batch = (uint32_t)cfg->batch;
        st->lr = cfg->lr;
        st->momentum = cfg->momentum;
        st->data_fingerprint = fingerprint;
        return 0;
}

static int save_checkpoint(const struct train_config *cfg, const struct checkpoint *st)
{
        if (checkpoint_save(cfg->ckpt_dir, st, (int)cfg->keep) < 0)
                return qs_error("cannot write a checkpoint to HOIST_CHECKPOINT_DIR '%s'",
                                cfg->ckpt_dir);
        printf("{\"event\": \"checkpoint\", \"step\": %" PRIu64 ", \"file\": \"ckpt-%06" PRIu64
               ".bin\"}\n",
               st->step, st->step);
        fflush(stdout);
        return 0;
}

static void log_progress(struct checkpoint *st, const struct dataset *train)
{
        double loss, accuracy;

        mlp_evaluate(&st->model, train, &loss, &accuracy);
        printf("{\"step\": %" PRIu64 ", \"loss\": %.6f, \"accuracy\": %.4f}\n", st->step, loss,
               accuracy);
        fflush(stdout);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        (void)nanosleep(&ts, NULL); /* EINTR is fine: a signal ends the nap */
}

/* Runs steps until cfg->steps or a stop signal.  Returns 0, or -1 on error. */
static int train_loop(const struct train_config *cfg, const struct dataset *train,
                      struct checkpoint *st)
{
        struct mlp *m = &st->model;
        struct sampler sampler = {.seed = cfg->seed, .n = train->n};
        size_t *batch = qs_xcalloc((size_t)cfg->batch, sizeof(size_t));
        double *grad = qs_xcalloc(m->nparams, sizeof(double));
        uint64_t saved = st->step;
        int r = 0;

        sampler.perm = qs_xcalloc(train->n, sizeof(size_t));
        while (st->step < (uint64_t)cfg->steps && !stop_signal) {
                uint64_t first = st->step * (uint64_t)cfg->batch;
                double loss;

                for (long j = 0; j < cfg->batch; j++)
                        batch[j] = sampler_index(&sampler, first + (uint64_t)j);
                loss = mlp_gradient(m, train, batch, (size_t)cfg->batch, grad);
                if (!isfinite(loss)) {
                        r = qs_error("training diverged at step %" PRIu64
                                     " (loss is %f); lower HOIST_HP_LR (now %g)",
                                     st->step, loss, cfg->lr);
                        break;
                }
                for (size_t i = 0; i < m->nparams; i++) {
                        st->velocity[i] = cfg->momentum * st->velocity[i] - cfg->lr * grad[i];
                        m->p[i] += st->velocity[i];
                }
                st->step++;
                if (st->step % (uint64_t)cfg->log_every == 0 || st->step == (uint64_t)cfg->steps)
                        log_progress(st, train);
                if (cfg->ckpt_dir && cfg->ckpt_every > 0 &&
                    st->step % (uint64_t)cfg->ckpt_every == 0) {
                        r = save_checkpoint(cfg, st);
                        if (r < 0)
                                break;
                        saved = st->step;
                }
                if (cfg->sleep_ms > 0)
                        sleep_ms(cfg->sleep_ms);
        }
        /* The last state, whether finished or stopped, is a checkpoint too: a
         * restarted job then resumes exactly here. */
        if (r == 0 && cfg->ckpt_dir && st->step != saved)
                r = save_checkpoint(cfg, st);
        free(batch);
        free(grad);
        free(sampler.perm);
        return r;
}

static int write_outputs(const struct train_config *cfg, struct checkpoint *st,
                         const struct dataset *train)
{
        char *test_path =
                train_resolve_csv(cfg->test_data ? cfg->test_data : cfg->data, "test.csv");
        struct dataset test = {0};
        double loss, accuracy, test_loss = 0, test_accuracy = 0;
        char json[512];
        int have_test = 0, n;

        mlp_evaluate(&st->model, train, &loss, &accuracy);
        if (access(test_path, F_OK) == 0 || cfg->test_data) {
                if (dataset_load(test_path, &test) < 0) {
                        free(test_path);
                        return -1;
                }
                mlp_evaluate(&st->model, &test, &test_loss, &test_accuracy);
                have_test = 1;
        } else {
                qs_warn("no test set at '%s'; metrics.json reports training accuracy only",
                        test_path);
        }
        free(test_path);

        if (dir_ensure("model directory", cfg->model_dir) < 0 ||
            mlp_save(&st->model, st->step, cfg->model_dir, "model.bin") < 0) {
                dataset_free(&test);
                return qs_error("cannot write model.bin to HOIST_MODEL_DIR '%s'", cfg->model_dir);
        }
        n = snprintf(json, sizeof(json),
                     "{\"steps\": %" PRIu64 ", \"loss\": %.6f, \"accuracy\": %.4f, "
                     "\"train_samples\": %zu, ",
                     st->step, loss, accuracy, train->n);
        if (have_test)
                n += snprintf(json + n, sizeof(json) - (size_t)n,
                              "\"test_loss\": %.6f, \"test_accuracy\": %.4f, "
                              "\"test_samples\": %zu, ",
                              test_loss, test_accuracy, test.n);
        n += snprintf(json + n, sizeof(json) - (size_t)n,
                      "\"hidden\": %ld, \"classes\": %d, \"lr\": %g, \"batch\": %ld, "
                      "\"seed\": %" PRIu64 "}\n",
                      cfg->hidden, train->classes, cfg->lr, cfg->batch, cfg->seed);
        dataset_free(&test);
        if (file_write_atomic(cfg->model_dir, "metrics.json", json, (size_t)n) < 0)
                return -1;
        printf("{\"event\": \"completed\", \"step\": %" PRIu64 ", \"loss\": %.6f, "
               "\"accuracy\": %.4f",
               st->step, loss, accuracy);
        if (have_test)
                printf(", \"test_accuracy\": %.4f", test_accuracy);
        printf("}\n");
        fflush(stdout);
        return 0;
}

int cmd_train(int argc, char **argv)
{
        struct train_config cfg;
        struct dataset train = {0};
        struct checkpoint st = {0};
        struct sigaction sa = {.sa_handler = on_stop_signal};
        char *train_path;
        int r;

        if (parse_config(argc, argv, &cfg) < 0)
                return 2;
        if (!cfg.ckpt_dir)
                qs_warn("HOIST_CHECKPOINT_DIR is not set: training without checkpoints, so "
                        "an interrupted run starts over");
        train_path = train_resolve_csv(cfg.data, "train.csv");
        r = dataset_load(train_path, &train);
        free(train_path);
        if (r < 0)
                return 1;

        /* Installed before the first step: a stop that comes while data loads
         * still ends with a checkpoint. */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        if (restore_or_init(&cfg, &train, &st) < 0) {
                dataset_free(&train);
                return 1;
        }
        r = train_loop(&cfg, &train, &st);
        if (r == 0 && stop_signal) {
                printf("{\"event\": \"stopped\", \"step\": %" PRIu64 ", \"signal\": \"%s\"}\n",
                       st.step, stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
                fflush(stdout);
                r = 128 + stop_signal;
        } else if (r == 0) {
                r = write_outputs(&cfg, &st, &train) < 0 ? 1 : 0;
        } else {
                r = 1;
        }
        checkpoint_free(&st);
        dataset_free(&train);
        return r;
}

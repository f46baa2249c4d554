/* hoist-quickstart: a small, real training program for trying hoist.
 *
 * It stands for the user's own code: it knows hoist only through the
 * environment (HOIST_INPUT_TRAIN, HOIST_MODEL_DIR, HOIST_CHECKPOINT_DIR,
 * HOIST_HP_*), prints metrics as JSON lines, checkpoints atomically, resumes
 * bit-identically, and stops cleanly on SIGTERM (checkpoint, exit 143). */
#include "dataset.h"
#include "eval.h"
#include "train.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define QUICKSTART_VERSION "1.0"

static void usage(FILE *f)
{
        fputs("usage: " PROG " [train] [--OPTION VALUE]...   train (the default)\n"
              "       " PROG " gen-data --out DIR [--samples N] [--seed S]\n"
              "       " PROG " eval --model FILE --data DIR\n"
              "       " PROG " train --help                  the training options\n"
              "\n"
              "train reads train.csv from $HOIST_INPUT_TRAIN, writes model.bin and\n"
              "metrics.json to $HOIST_MODEL_DIR, checkpoints to $HOIST_CHECKPOINT_DIR and\n"
              "takes its hyperparameters from HOIST_HP_STEPS, HOIST_HP_LR, HOIST_HP_HIDDEN,\n"
              "HOIST_HP_BATCH, HOIST_HP_SEED and HOIST_HP_CHECKPOINT_EVERY.\n"
              "On SIGTERM or SIGINT it finishes the step, checkpoints, and exits 128+signal.\n",
              f);
}

int main(int argc, char **argv)
{
        const char *verb = argc > 1 ? argv[1] : "train";

        if (strcmp(verb, "train") == 0)
                return cmd_train(argc > 1 ? argc - 1 : argc, argc > 1 ? argv + 1 : argv);
        if (strcmp(verb, "gen-data") == 0)
                return cmd_gen_data(argc - 1, argv + 1);
        if (strcmp(verb, "eval") == 0)
                return cmd_eval(argc - 1, argv + 1);
        if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(verb, "--version") == 0) {
                puts(PROG " " QUICKSTART_VERSION);
                return 0;
        }
        if (verb[0] == '-') /* options with no verb: train */
                return cmd_train(argc, argv);
        fprintf(stderr, PROG ": unknown command '%s' (expected train, gen-data or eval)\n", verb);
        usage(stderr);
        return 2;
}

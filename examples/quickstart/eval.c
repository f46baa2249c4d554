#include "eval.h"
#include "dataset.h"
#include "mlp.h"
#include "train.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void eval_usage(FILE *f)
{
        fputs("usage: " PROG " eval --model FILE --data DIR|FILE\n"
              "  prints the model's loss and accuracy on DIR/test.csv (or on FILE)\n",
              f);
}

int cmd_eval(int argc, char **argv)
{
        static const struct option opts[] = {
                {"model", required_argument, NULL, 'm'},
                {"data", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *arg_model = NULL, *arg_data = NULL;
        struct mlp model;
        struct dataset data;
        uint64_t steps;
        double loss, accuracy;
        char *path;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
                switch (c) {
                case 'm':
                        arg_model = optarg;
                        break;
                case 'd':
                        arg_data = optarg;
                        break;
                case 'h':
                        eval_usage(stdout);
                        return 0;
                default:
                        eval_usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                qs_error("eval: unexpected argument '%s'", argv[optind]);
                return 2;
        }
        if (!arg_model || !arg_data) {
                qs_error("eval: %s is required", arg_model ? "--data DIR (holding test.csv)"
                                                           : "--model FILE (a model.bin)");
                return 2;
        }
        if (mlp_load(arg_model, &model, &steps) < 0)
                return 1;
        path = train_resolve_csv(arg_data, "test.csv");
        r = dataset_load(path, &data);
        if (r < 0) {
                free(path);
                mlp_free(&model);
                return 1;
        }
        if (data.classes > model.classes) {
                qs_error("'%s' has labels up to %d, but the model knows %d classes", path,
                         data.classes - 1, model.classes);
                r = -1;
        } else {
                mlp_evaluate(&model, &data, &loss, &accuracy);
                printf("{\"samples\": %zu, \"loss\": %.6f, \"accuracy\": %.4f, "
                       "\"model_steps\": %" PRIu64 "}\n",
                       data.n, loss, accuracy, steps);
        }
        free(path);
        dataset_free(&data);
        mlp_free(&model);
        return r < 0 ? 1 : 0;
}

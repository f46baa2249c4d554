/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_STAGE_H
#define HOIST_ENTRYPOINT_STAGE_H

/*
 * The job's local layout and environment, before the command starts:
 *   <root>/input/<channel>/   each input, copied or extracted, digest checked
 *   <root>/model/             what the trainer saves as the model
 *   <root>/output/            other artifacts
 *   <root>/checkpoints/       checkpoints (job.json checkpoints.dir), kept in
 *                             step with storage by checkpoint.c
 *   <root>/code/              the job's code (job.json "code"), $HOIST_CODE_DIR
 *   <root>/.hoist/            what the stager of a tree wrote where (mode
 *                             0700; the inputs hold only the job's files)
 * <root> is $HOIST_WORKDIR, else job.json "workdir", else /hoist.
 */

#include "error.h"
#include "jobspec.h"
#include "storage.h"

struct stage {
        char *root;
        char *input_dir;
        char *model_dir;
        char *output_dir;
        char *checkpoint_dir;
        char *checkpoint_prefix; /* storage prefix, no trailing '/' */
        char *code_dir;          /* <root>/code, or NULL when the job ships no code */
        char *state_dir;         /* <root>/.hoist: the tree stager's records */
};

/* Called before input INDEX (of N) is staged, e.g. for sd_notify STATUS. */
typedef void (*stage_progress_fn)(void *userdata, size_t index, size_t n,
                                  const struct jobspec_input *in);
void stage_set_progress(stage_progress_fn fn, void *userdata);

/* Creates the layout and stages every input. */
int stage_prepare(const struct jobspec *spec, struct storage *st, struct stage *ret,
                  struct hoist_error **err);

/* Exports job.json's env, then the HOIST_* variables (which job.json's env
 * cannot override), into our environment for the command to inherit. */
int stage_export_env(const struct jobspec *spec, const struct stage *s, struct hoist_error **err);

/* Stores the local tree DIR under storage prefix PREFIX. */
int stage_upload_tree(struct storage *st, const char *dir, const char *prefix,
                      struct hoist_error **err);

/* Removes the staged copies of the inputs (<root>/input): once the command
 * has ended, storage holds all they hold.  A failure is a warning. */
void stage_drop_inputs(const struct stage *s);

void stage_release(struct stage *s);

#endif

/* hoist-quickstart train: SGD with momentum, checkpoints, resume, SIGTERM. */
#pragma once

int cmd_train(int argc, char **argv);

/* DIR/NAME when path is a directory, path itself when it is a file; the
 * result is malloc'ed.  Shared with eval. */
char *train_resolve_csv(const char *path, const char *name);

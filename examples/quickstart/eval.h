/* hoist-quickstart eval: a trained model's accuracy on a CSV. */
#pragma once

int cmd_eval(int argc, char **argv);

/* SPDX-License-Identifier: MIT */
#ifndef HOIST_YAMLOUT_H
#define HOIST_YAMLOUT_H

/*
 * JSON values written as YAML (libyaml's emitter), for what hoist shows a
 * person that a YAML reader also takes back without loss: a string that a
 * YAML 1.1 reader would take for a number, a boolean or null ("1", "yes",
 * "null", "0x10") is quoted; keys keep their order.
 */

#include <jansson.h>

#include "error.h"

/* V as one YAML document's body (no "---") in *RET, a
 * newly allocated string. */
int yamlout_value(json_t *v, char **ret, struct hoist_error **err);

#endif

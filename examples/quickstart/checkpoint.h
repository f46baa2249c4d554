/* Training checkpoints: DIR/ckpt-NNNNNN.bin files and a DIR/latest pointer.
 *
 * A checkpoint file is written to a temp file, fsynced and renamed; `latest`
 * is written the same way only after that, so whatever `latest` names is
 * complete.  A file that fails its CRC-32 (torn disk, copy cut short) is
 * skipped with a warning and the previous one is used. */
#pragma once

#include <stdint.h>

#include "mlp.h"

/* What a run must match to continue bit-identically, plus its state. */
struct checkpoint {
        uint64_t step; /* steps completed */
        uint64_t seed;
        uint64_t data_fingerprint;
        uint32_t batch;
        double lr, momentum;
        struct mlp model;
        double *velocity; /* momentum buffer, model.nparams */
};

/* Writes ckpt-<step>.bin, then `latest`, then deletes all but the newest
 * `keep` checkpoint files. */
int checkpoint_save(const char *dir, const struct checkpoint *c, int keep);
/* Loads the newest valid checkpoint into ret (ret->model allocated).
 * Returns 1 when one was loaded, 0 when DIR holds none, -1 on error. */
int checkpoint_restore(const char *dir, struct checkpoint *ret);
/* Removes temp files a killed run left behind. */
void checkpoint_clean_temp(const char *dir);
void checkpoint_free(struct checkpoint *c);

#include "mlp.h"
#include "fileio.h"
#include "rng.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAGIC "HQSMODEL"
#define MODEL_VERSION 1u

void mlp_init(struct mlp *m, int inputs, int hidden, int classes)
{
        m->inputs = inputs;
        m->hidden = hidden;
        m->classes = classes;
        m->nparams = (size_t)hidden * (size_t)inputs + (size_t)hidden +
                     (size_t)classes * (size_t)hidden + (size_t)classes;
        m->p = qs_xcalloc(m->nparams, sizeof(double));
        m->scratch = qs_xcalloc(2 * (size_t)hidden + (size_t)classes, sizeof(double));
}

void mlp_free(struct mlp *m)
{
        free(m->p);
        free(m->scratch);
        *m = (struct mlp){0};
}

void mlp_randomize(struct mlp *m, uint64_t seed)
{
        struct rng r;
        size_t n1 = (size_t)m->hidden * (size_t)m->inputs;
        double *w2 = m->p + n1 + (size_t)m->hidden;
        size_t n2 = (size_t)m->classes * (size_t)m->hidden;

        /* Stream 2: independent of the data streams (0, 1) and the shuffles. The
         * first layer is wide on purpose: spirals need features that turn fast. */
        rng_seed(&r, seed, 2);
        memset(m->p, 0, m->nparams * sizeof(double));
        for (size_t i = 0; i < n1; i++)
                m->p[i] = 3.0 * rng_normal(&r);
        for (size_t i = 0; i < n2; i++)
                w2[i] = rng_normal(&r) / sqrt((double)m->hidden);
}

/* Forward pass for one sample: hidden activations in h, class probabilities
 * in prob. */
static void forward(const struct mlp *m, const double *x, double *h, double *prob)
{
        const double *w1 = m->p, *b1 = w1 + (size_t)m->hidden * (size_t)m->inputs;
        const double *w2 = b1 + m->hidden, *b2 = w2 + (size_t)m->classes * (size_t)m->hidden;
        double zmax = -INFINITY, sum = 0.0;

        for (int j = 0; j < m->hidden; j++) {
                double a = b1[j];

                for (int k = 0; k < m->inputs; k++)
                        a += w1[j * m->inputs + k] * x[k];
                h[j] = tanh(a);
        }
        for (int c = 0; c < m->classes; c++) {
                double z = b2[c];

                for (int j = 0; j < m->hidden; j++)
                        z += w2[c * m->hidden + j] * h[j];
                prob[c] = z;
                if (z > zmax)
                        zmax = z;
        }
        for (int c = 0; c < m->classes; c++) {
                prob[c] = exp(prob[c] - zmax);
                sum += prob[c];
        }
        for (int c = 0; c < m->classes; c++)
                prob[c] /= sum;
}

static double sample_loss(const double *prob, int label)
{
        /* -log p[label], floored so a saturated softmax cannot give +inf. */
        return -log(prob[label] > 1e-300 ? prob[label] : 1e-300);
}

double mlp_gradient(struct mlp *m, const struct dataset *d, const size_t *idx, size_t count,
                    double *grad)
{
        size_t n1 = (size_t)m->hidden * (size_t)m->inputs;
        const double *w2 = m->p + n1 + (size_t)m->hidden;
        double *gw1 = grad, *gb1 = gw1 + n1, *gw2 = gb1 + m->hidden;
        double *gb2 = gw2 + (size_t)m->classes * (size_t)m->hidden;
        double *h = m->scratch, *prob = h + m->hidden, *dh = prob + m->classes;
        double scale = 1.0 / (double)count, loss = 0.0;

        memset(grad, 0, m->nparams * sizeof(double));
        for (size_t s = 0; s < count; s++) {
                const double *x = d->x + idx[s] * DATASET_FEATURES;
                int label = d->y[idx[s]];
                forward(m, x, h, prob);
                loss += sample_loss(prob, label);
                memset(dh, 0, (size_t)m->hidden * sizeof(double));
                for (int c = 0; c < m->classes; c++) {
                        double dz = (prob[c] - (c == label ? 1.0 : 0.0)) * scale;

                        gb2[c] += dz;
                        for (int j = 0; j < m->hidden; j++) {
                                gw2[c * m->hidden + j] += dz * h[j];
                                dh[j] += dz * w2[c * m->hidden + j];
                        }
                }
                for (int j = 0; j < m->hidden; j++) {
                        double da = dh[j] * (1.0 - h[j] * h[j]);

                        gb1[j] += da;
                        for (int k = 0; k < m->inputs; k++)
                                gw1[j * m->inputs + k] += da * x[k];
                }
        }
        return loss * scale;
}

void mlp_evaluate(struct mlp *m, const struct dataset *d, double *ret_loss, double *ret_accuracy)
{
        double *h = m->scratch, *prob = h + m->hidden, loss = 0.0;
        size_t correct = 0;

        for (size_t i = 0; i < d->n; i++) {
                int best = 0;

                forward(m, d->x + i * DATASET_FEATURES, h, prob);
                for (int c = 1; c < m->classes; c++)
                        if (prob[c] > prob[best])
                                best = c;
                correct += best == d->y[i];
                loss += d->y[i] < m->classes ? sample_loss(prob, d->y[i]) : 0.0;
        }
        *ret_loss = d->n ? loss / (double)d->n : 0.0;
        *ret_accuracy = d->n ? (double)correct / (double)d->n : 0.0;
}

int mlp_save(const struct mlp *m, uint64_t steps, const char *dir, const char *name)
{
        struct bbuf b = {0};
        int r;

        bbuf_put(&b, MODEL_MAGIC, 8);
        bbuf_put_u32(&b, MODEL_VERSION);
        bbuf_put_u32(&b, (uint32_t)m->inputs);
        bbuf_put_u32(&b, (uint32_t)m->hidden);
        bbuf_put_u32(&b, (uint32_t)m->classes);
        bbuf_put_u64(&b, steps);
        for (size_t i = 0; i < m->nparams; i++)
                bbuf_put_f64(&b, m->p[i]);
        bbuf_seal(&b);
        r = file_write_atomic(dir, name, b.data, b.len);
        bbuf_free(&b);
        return r;
}

int mlp_load(const char *path, struct mlp *ret, uint64_t *ret_steps)
{
        uint8_t *raw;
        size_t len;
        struct breader r;
        char magic[8];
        uint32_t version, inputs, hidden, classes;
        uint64_t steps;
        struct mlp m;

        if (file_read_all(path, 64u << 20, &raw, &len) < 0)
                return qs_error("cannot read model '%s': %s", path, strerror(errno));
        if (breader_open_sealed(&r, raw, len) < 0) {
                free(raw);
                return qs_error("model '%s' is truncated or corrupt (checksum mismatch)", path);
        }
        breader_get(&r, magic, sizeof(magic));
        version = breader_u32(&r);
        inputs = breader_u32(&r);
        hidden = breader_u32(&r);
        classes = breader_u32(&r);
        steps = breader_u64(&r);
        if (r.bad || memcmp(magic, MODEL_MAGIC, 8) != 0 || version != MODEL_VERSION ||
            inputs != DATASET_FEATURES || hidden < 1 || hidden > MLP_MAX_HIDDEN || classes < 2 ||
            classes > DATASET_MAX_CLASSES) {
                free(raw);
                return qs_error("'%s' is not a " PROG " model (version %u)", path, MODEL_VERSION);
        }
        mlp_init(&m, (int)inputs, (int)hidden, (int)classes);
        for (size_t i = 0; i < m.nparams; i++)
                m.p[i] = breader_f64(&r);
        if (r.bad || r.pos != r.len) {
                free(raw);
                mlp_free(&m);
                return qs_error("model '%s' has the wrong size for its shape", path);
        }
        free(raw);
        *ret = m;
        *ret_steps = steps;
        return 0;
}

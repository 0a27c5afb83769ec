/*
 * custom_backend.c - write your own backend and explain with all three
 * methods; then several classes at once, with the version-2 table (whose
 * backward_retain lets the classes share each forward) and a version-1 one.
 *
 * The "model" is a toy bright-spot detector on 1 x 8 x 8 gray images:
 *   layer:  2 x 4 x 4 activations, 2 x 2 average pools of x and of x^2;
 *   logits: y_spot  = 0.5 * (sum_ij V_ij A0_ij)^2 + sum_ij A1_ij,
 *           y_blank = -y_spot,
 * where V favours the upper-left quarter. Its gradient with respect to the
 * layer is written by hand below; a real backend (egcam_torch.h) gets it
 * from autograd.
 *
 * Build against an installed libegcam:
 *     cc custom_backend.c $(pkg-config --cflags --libs egcam) -o custom_backend
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

enum { H = 8, W = 8, K = 2, LH = 4, LW = 4, L = 2, MAX_ROWS = 64 };

typedef struct toy {
    float V[LH * LW];
    float acts[MAX_ROWS * K * LH * LW];
    float logits[MAX_ROWS * L];
    float grad[MAX_ROWS * K * LH * LW];
    size_t rows;      /* rows of the last forward */
    int can_backward; /* it was made with EGCAM_FORWARD_FOR_BACKWARD */
} toy;

static egcam_status toy_forward(void *self, const egcam_tensor *in, uint32_t flags,
                                egcam_tensor *acts, egcam_tensor *logits, char *err, size_t n)
{
    toy *t = self;
    if (in->ndim != 4 || in->shape[1] != 1 || in->shape[2] != H || in->shape[3] != W) {
        snprintf(err, n, "expected [N,1,%d,%d] inputs", H, W);
        return EGCAM_E_BACKEND;
    }
    if (in->shape[0] > MAX_ROWS) {
        snprintf(err, n, "at most %d rows per call", MAX_ROWS);
        return EGCAM_E_BACKEND;
    }
    t->rows = (size_t)in->shape[0];
    for (size_t r = 0; r < t->rows; r++) {
        const float *x = in->data + r * H * W;
        float *a = t->acts + r * K * LH * LW;
        double s = 0.0, squares = 0.0;
        for (int i = 0; i < LH; i++)
            for (int j = 0; j < LW; j++) {
                double m = 0.0, q = 0.0;
                for (int di = 0; di < 2; di++)
                    for (int dj = 0; dj < 2; dj++) {
                        double v = x[(2 * i + di) * W + 2 * j + dj];
                        m += v / 4.0;
                        q += v * v / 4.0;
                    }
                a[i * LW + j] = (float)m;
                a[LH * LW + i * LW + j] = (float)q;
                s += t->V[i * LW + j] * m;
                squares += q;
            }
        t->logits[r * L] = (float)(0.5 * s * s + squares);
        t->logits[r * L + 1] = -t->logits[r * L];
    }
    t->can_backward = (flags & EGCAM_FORWARD_FOR_BACKWARD) != 0;
    *acts = (egcam_tensor){t->acts, {(int64_t)t->rows, K, LH, LW}, 4, 0};
    *logits = (egcam_tensor){t->logits, {(int64_t)t->rows, L}, 2, 0};
    return EGCAM_OK;
}

/* The gradient at the layer for the last forward made for backward. */
static egcam_status toy_gradient(toy *t, const float *seed, egcam_tensor *grad, char *err, size_t n)
{
    if (!t->can_backward) {
        snprintf(err, n, "backward needs a forward made for backward");
        return EGCAM_E_BACKEND;
    }
    for (size_t r = 0; r < t->rows; r++) {
        const float *a = t->acts + r * K * LH * LW;
        float *g = t->grad + r * K * LH * LW;
        /* d y_spot / d A0 = s * V, d y_spot / d A1 = 1; y_blank is its negative. */
        double s = 0.0;
        for (int p = 0; p < LH * LW; p++)
            s += t->V[p] * a[p];
        double dspot = seed[r * L] - seed[r * L + 1];
        for (int p = 0; p < LH * LW; p++) {
            g[p] = (float)(dspot * s * t->V[p]);
            g[LH * LW + p] = (float)dspot;
        }
    }
    *grad = (egcam_tensor){t->grad, {(int64_t)t->rows, K, LH, LW}, 4, 0};
    return EGCAM_OK;
}

/* Version 1: one backward per forward, which may then free its state. */
static egcam_status toy_backward(void *self, const float *seed, egcam_tensor *grad, char *err,
                                 size_t n)
{
    toy *t = self;
    egcam_status st = toy_gradient(t, seed, grad, err, n);
    t->can_backward = 0;
    return st;
}

/* Version 2: as many backwards per forward as there are targets; the state
 * is kept while EGCAM_BACKWARD_RETAIN says another follows. */
static egcam_status toy_backward_retain(void *self, const float *seed, uint32_t flags,
                                        egcam_tensor *grad, char *err, size_t n)
{
    toy *t = self;
    if (flags & ~EGCAM_BACKWARD_RETAIN) {
        snprintf(err, n, "unknown backward flags 0x%x", flags);
        return EGCAM_E_BACKEND;
    }
    egcam_status st = toy_gradient(t, seed, grad, err, n);
    t->can_backward = (flags & EGCAM_BACKWARD_RETAIN) != 0;
    return st;
}

static void toy_release(void *self) { free(self); }

static const egcam_backend_ops toy_ops = {
    .abi_version = EGCAM_BACKEND_ABI_VERSION,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "toy",
    .forward = toy_forward,
    .backward = toy_backward,
    .release = toy_release,
    .backward_retain = toy_backward_retain,
};

/* The same backend as a version-1 table: no backward_retain. libegcam then
 * forwards a batch again for each further target (slower, same maps). */
static const egcam_backend_ops toy_ops_v1 = {
    .abi_version = 1,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "toy-v1",
    .forward = toy_forward,
    .backward = toy_backward,
    .release = toy_release,
};

static void print_map(const char *title, const egcam_result *res)
{
    uint32_t h, w;
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    printf("%s: class %d, logit %.3f, completeness %.3f\n", title, egcam_result_class(res),
           egcam_result_logit(res), egcam_result_completeness(res));
    for (uint32_t i = 0; i < h; i++) {
        printf("    ");
        for (uint32_t j = 0; j < w; j++)
            putchar(" .:-=+*#"[(int)(map[i * w + j] * 7.99f)]);
        putchar('\n');
    }
}

/* Both classes of the image in one call, on a backend of each table. */
static int explain_both_classes(egcam_ctx *ctx, const toy *model, const egcam_tensor *input)
{
    const egcam_backend_ops *tables[2] = {&toy_ops, &toy_ops_v1};
    egcam_result *res[2][L] = {{NULL}};
    int failed = 0;
    for (int v = 0; v < 2 && !failed; v++) {
        toy *copy = malloc(sizeof *copy);
        egcam_backend *backend = NULL;
        egcam_config cfg;
        if (!copy)
            return 1;
        memcpy(copy, model, sizeof *copy);
        if (egcam_backend_new(ctx, tables[v], copy, &backend) != EGCAM_OK) {
            free(copy);
            failed = 1;
        } else if (egcam_config_init(&cfg) != EGCAM_OK ||
                   /* classes NULL, 2 targets: the two largest logits */
                   egcam_explain_many(ctx, backend, &cfg, input, 1, NULL, L, NULL, res[v], NULL) !=
                       EGCAM_OK) {
            fprintf(stderr, "%s: %s\n", tables[v]->name, egcam_ctx_last_error(ctx));
            failed = 1;
        }
        egcam_backend_free(backend);
    }
    for (int c = 0; c < L && !failed; c++) {
        char title[64];
        snprintf(title, sizeof title, "Expected Grad-CAM, rank %d", c);
        print_map(title, res[0][c]);
        uint32_t h, w;
        const float *a = egcam_result_map(res[0][c], EGCAM_MAP_SIGNED, &h, &w);
        const float *b = egcam_result_map(res[1][c], EGCAM_MAP_SIGNED, NULL, NULL);
        if (memcmp(a, b, (size_t)h * w * sizeof *a) != 0) {
            fprintf(stderr, "version 1 and version 2 tables disagree\n");
            failed = 1;
        }
    }
    for (int v = 0; v < 2; v++)
        for (int c = 0; c < L; c++)
            egcam_result_free(res[v][c]);
    return failed;
}

int main(void)
{
    if (egcam_version_number() != EGCAM_VERSION_NUMBER)
        fprintf(stderr, "warning: built with libegcam %s, running %s\n", EGCAM_VERSION_STRING,
                egcam_version_string());

    toy *model = calloc(1, sizeof *model);
    if (!model)
        return 1;
    for (int i = 0; i < LH; i++)
        for (int j = 0; j < LW; j++)
            model->V[i * LW + j] = (i < 2 && j < 2) ? 1.0f : 0.1f;

    /* A bright 3 x 3 spot in the upper-left quarter, a dimmer one lower right. */
    float image[H * W] = {0};
    for (int i = 1; i < 4; i++)
        for (int j = 1; j < 4; j++)
            image[i * W + j] = 1.0f;
    image[6 * W + 6] = image[6 * W + 5] = 0.5f;
    egcam_tensor input = {image, {1, H, W}, 3, 0};

    egcam_ctx *ctx = NULL;
    egcam_backend *backend = NULL;
    int failed = 0;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 1;
    if (egcam_backend_new(ctx, &toy_ops, model, &backend) != EGCAM_OK) {
        fprintf(stderr, "backend: %s\n", egcam_ctx_last_error(ctx));
        free(model); /* not released on failure: still ours */
        egcam_ctx_free(ctx);
        return 1;
    }

    static const struct {
        uint32_t method;
        const char *name;
    } methods[] = {
        {EGCAM_METHOD_GRADCAM, "Grad-CAM"},
        {EGCAM_METHOD_INTEGRATED, "Integrated Grad-CAM"},
        {EGCAM_METHOD_EXPECTED, "Expected Grad-CAM"},
    };
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        egcam_config cfg;
        egcam_result *res = NULL;
        egcam_status st = egcam_config_init(&cfg);
        if (st == EGCAM_OK) {
            cfg.method = methods[m].method;
            cfg.samples = 200;
            st = egcam_explain(ctx, backend, &cfg, &input, NULL, &res);
        }
        if (st != EGCAM_OK) {
            fprintf(stderr, "%s: %s: %s\n", methods[m].name, egcam_status_string(st),
                    egcam_ctx_last_error(ctx));
            failed = 1;
            continue;
        }
        print_map(methods[m].name, res);
        egcam_result_free(res);
    }
    if (!failed)
        failed = explain_both_classes(ctx, model, &input);
    egcam_backend_free(backend); /* calls toy_release */
    egcam_ctx_free(ctx);
    return failed;
}

/*
 * soak.c - many explanations in one process with the LibTorch backend, to
 * catch memory that grows with use: leaks LeakSanitizer cannot see because
 * something still points at them (a cache, a vector that only grows, state
 * a backend keeps per call), and leaks in paths the unit tests take once.
 *
 * Usage: soak FIXTURE_DIR [ITERATIONS [WARMUP [EVERY [BOUND_KIB]]]]
 *        defaults 10000 1000 250 4096
 *
 * It opens tests/fixtures/torch/plain_cnn.pt at features.3 and explains the
 * fixture input ITERATIONS times, in a fixed rotation of 20 kinds of call:
 * Grad-CAM (top class and a chosen one), Integrated Grad-CAM (built-in zero
 * and blur baselines, a cached one-reference set), Expected Grad-CAM (a
 * cached four-reference set, built-in uniform references), and failing
 * calls that must fail with the right status: a class out of range and
 * target weights of the wrong length (both found after the first forward),
 * a reference set of another backend, a set too large for Integrated, a
 * NaN input, an input the model cannot take (LibTorch throws), and a
 * progress hook that cancels half-way. Every 1000 calls it also opens and
 * frees a second backend. Each successful kind must give the bits of its
 * first result every time.
 *
 * It samples the resident set (VmRSS, /proc/self/status) every EVERY calls
 * and fails when, after the first WARMUP calls, it rises more than
 * BOUND_KIB above its value at the end of the warm-up. Why 4 MiB: by then
 * every buffer an explanation needs has been allocated once and is reused
 * from malloc's and LibTorch's free lists, so a steady state is flat up to
 * allocator noise (tens to hundreds of KiB). The smallest object an
 * explanation hands out, a result (three maps and the weights of this
 * model, about 2.4 KiB), leaked once per call would add about 21 MiB over
 * the 9000 calls after the warm-up; 4 MiB is crossed by any steady leak
 * above about 470 bytes per call. Smaller leaks are LeakSanitizer's job
 * (the asan_ubsan test, which runs this program for 400 calls; under ASan
 * the bound is not applied, since its quarantine keeps freed memory).
 *
 * Run: meson test -C build --benchmark --suite soak -v
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

#define MODEL "plain_cnn.pt"
#define LAYER "features.3"
#define INPUT "plain_cnn.features.3/input.npy"
#define CLASSES 5
#define KINDS 20

static const char *fixtures;
static egcam_ctx *ctx;

static void die(const char *what, egcam_status st)
{
    fprintf(stderr, "soak: %s: %s: %s\n", what, egcam_status_string(st), egcam_ctx_last_error(ctx));
    exit(1);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static egcam_backend *open_backend(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, MODEL);
    egcam_backend *be;
    egcam_status st = egcam_torch_open(ctx, path, LAYER, NULL, &be);
    if (st != EGCAM_OK)
        die("egcam_torch_open", st);
    return be;
}

static int cancel_half_way(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    return done * 2 >= total;
}

/* The first result of each successful kind, to compare the rest with. */
static egcam_result *first[KINDS];

static void same_as_first(int kind, egcam_result *res, long i)
{
    if (!first[kind]) {
        first[kind] = res;
        return;
    }
    uint32_t n, m, h, w, h0, w0;
    const float *wt = egcam_result_weights(res, &n), *wt0 = egcam_result_weights(first[kind], &m);
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    const float *map0 = egcam_result_map(first[kind], EGCAM_MAP_NORMALIZED, &h0, &w0);
    if (n != m || h != h0 || w != w0 || memcmp(wt, wt0, n * sizeof *wt) ||
        memcmp(map, map0, (size_t)h * w * sizeof *map) ||
        egcam_result_class(res) != egcam_result_class(first[kind])) {
        fprintf(stderr, "soak: call %ld (kind %d) differs from the first of its kind\n", i, kind);
        exit(1);
    }
    egcam_result_free(res);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: soak FIXTURE_DIR [ITERATIONS [WARMUP [EVERY [BOUND_KIB]]]]\n");
        return 2;
    }
    fixtures = argv[1];
    long iterations = argc > 2 ? atol(argv[2]) : 10000;
    long warmup = argc > 3 ? atol(argv[3]) : 1000;
    long every = argc > 4 ? atol(argv[4]) : 250;
    long bound = argc > 5 ? atol(argv[5]) : 4096;
    if (iterations < 1 || warmup < 0 || warmup >= iterations || every < 1 || bound < 0) {
        fprintf(stderr, "soak: bad numbers\n");
        return 2;
    }

    double t0 = now();
    egcam_status st;
    if ((st = egcam_ctx_new(&ctx)) != EGCAM_OK)
        die("egcam_ctx_new", st);
    egcam_backend *be = open_backend(), *other = open_backend();

    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, INPUT);
    egcam_tensor *x;
    if ((st = egcam_npy_read(ctx, path, &x)) != EGCAM_OK)
        die(path, st);
    size_t n = (size_t)(x->shape[0] * x->shape[1] * x->shape[2]);
    egcam_tensor input = {x->data, {x->shape[0], x->shape[1], x->shape[2]}, 3, 0};

    /* Four references (shifted copies of the input), the first as a baseline. */
    float *refs = malloc(4 * n * sizeof *refs), *nan_x = malloc(n * sizeof *nan_x);
    float *small = calloc(n / 4, sizeof *small);
    if (!refs || !nan_x || !small)
        die("malloc", EGCAM_E_OUT_OF_MEMORY);
    for (size_t r = 0; r < 4; r++)
        for (size_t j = 0; j < n; j++)
            refs[r * n + j] = 0.25f * (float)r * x->data[(j + 7 * r) % n];
    memcpy(nan_x, x->data, n * sizeof *nan_x);
    nan_x[n / 2] = NAN;
    egcam_tensor refs_t = {refs, {4, input.shape[0], input.shape[1], input.shape[2]}, 4, 0};
    egcam_tensor base_t = {refs, {1, input.shape[0], input.shape[1], input.shape[2]}, 4, 0};
    egcam_tensor nan_t = {nan_x, {input.shape[0], input.shape[1], input.shape[2]}, 3, 0};
    /* Half the height and width: the model's Linear layer cannot take it. */
    egcam_tensor small_t = {small, {input.shape[0], input.shape[1] / 2, input.shape[2] / 2}, 3, 0};
    egcam_refset *set, *baseline, *other_set;
    if ((st = egcam_refset_new(ctx, be, &refs_t, 4, &set)) != EGCAM_OK ||
        (st = egcam_refset_new(ctx, be, &base_t, 0, &baseline)) != EGCAM_OK ||
        (st = egcam_refset_new(ctx, other, &base_t, 0, &other_set)) != EGCAM_OK)
        die("egcam_refset_new", st);
    float weights[CLASSES + 1] = {1.0f, -1.0f};

    long samples = 0, series[1024];
    long peak_after = 0, at_warmup = -1;
    unsigned long ok_calls = 0, failed_calls = 0;
    printf("soak: %ld explanations, warm-up %ld, RSS every %ld, bound %ld KiB\n", iterations,
           warmup, every, bound);
    printf("soak: RSS before the loop %ld KiB\n", rss_kib());
    for (long i = 0; i < iterations; i++) {
        int kind = (int)(i % KINDS);
        egcam_config cfg;
        if ((st = egcam_config_init(&cfg)) != EGCAM_OK)
            die("egcam_config_init", st);
        cfg.steps = 8;
        cfg.samples = 8;
        cfg.batch_size = 4;
        const egcam_tensor *in = &input;
        const egcam_refset *rs = NULL;
        egcam_status want = EGCAM_OK;
        switch (kind) {
        case 0:
        case 1:
        case 2:
        case 3: cfg.method = EGCAM_METHOD_GRADCAM; break;
        case 4:
        case 5:
            cfg.method = EGCAM_METHOD_GRADCAM;
            cfg.target_class = kind - 2;
            break;
        case 6:
        case 7: cfg.method = EGCAM_METHOD_INTEGRATED; break;
        case 8:
            cfg.method = EGCAM_METHOD_INTEGRATED;
            cfg.references = EGCAM_REFERENCES_BLUR;
            break;
        case 9:
        case 10:
            cfg.method = EGCAM_METHOD_INTEGRATED;
            rs = baseline;
            break;
        case 11:
        case 12:
        case 13:
        case 14:
            cfg.method = EGCAM_METHOD_EXPECTED;
            rs = set;
            break;
        case 15:
            cfg.method = EGCAM_METHOD_EXPECTED;
            cfg.references = EGCAM_REFERENCES_UNIFORM;
            cfg.reference_count = 2;
            break;
        case 16: /* failures found after the first forward */
            cfg.method = EGCAM_METHOD_EXPECTED;
            if ((i / KINDS) % 2) {
                cfg.target_class = CLASSES + (int32_t)(i % 3);
                want = EGCAM_E_CLASS_OUT_OF_RANGE;
            } else {
                cfg.target_weights = weights;
                cfg.target_weights_count = CLASSES + 1;
                want = EGCAM_E_SHAPE_MISMATCH;
            }
            rs = set;
            break;
        case 17: /* misuse caught before any forward */
            cfg.method = (i / KINDS) % 2 ? EGCAM_METHOD_EXPECTED : EGCAM_METHOD_INTEGRATED;
            rs = (i / KINDS) % 2 ? other_set : set;
            want = (i / KINDS) % 2 ? EGCAM_E_MISUSE : EGCAM_E_INVALID_ARGUMENT;
            break;
        case 18: /* bad inputs: a NaN, or a shape LibTorch throws on */
            cfg.method = EGCAM_METHOD_GRADCAM;
            in = (i / KINDS) % 2 ? &nan_t : &small_t;
            want = (i / KINDS) % 2 ? EGCAM_E_NON_FINITE : EGCAM_E_BACKEND;
            break;
        default: /* 19: cancelled half-way through the samples */
            cfg.method = EGCAM_METHOD_EXPECTED;
            rs = set;
            if ((st = egcam_ctx_set_progress(ctx, cancel_half_way, NULL)) != EGCAM_OK)
                die("egcam_ctx_set_progress", st);
            want = EGCAM_E_CANCELLED;
            break;
        }
        egcam_result *res = NULL;
        st = egcam_explain(ctx, be, &cfg, in, rs, &res);
        if (st != want) {
            fprintf(stderr, "soak: call %ld (kind %d): %s, expected %s: %s\n", i, kind,
                    egcam_status_string(st), egcam_status_string(want), egcam_ctx_last_error(ctx));
            return 1;
        }
        if (st == EGCAM_OK) {
            ok_calls++;
            same_as_first(kind, res, i);
        } else {
            failed_calls++;
            if (res || !egcam_ctx_last_error(ctx)[0]) {
                fprintf(stderr,
                        "soak: call %ld (kind %d) failed without a message or with a result\n", i,
                        kind);
                return 1;
            }
        }
        /* After reading the message: a call on ctx clears it. */
        if (kind == 19 && egcam_ctx_set_progress(ctx, NULL, NULL) != EGCAM_OK)
            die("egcam_ctx_set_progress", EGCAM_E_INTERNAL);
        if ((i + 1) % 1000 == 0) /* the open and close paths too */
            egcam_backend_free(open_backend());

        long done = i + 1;
        if (done % every == 0 || done == iterations) {
            long kib = rss_kib();
            if (samples < (long)(sizeof series / sizeof *series))
                series[samples++] = kib;
            if (done == warmup)
                at_warmup = kib;
            if (done > warmup && kib > peak_after)
                peak_after = kib;
            printf("rss %6ld %ld\n", done, kib);
            fflush(stdout);
        }
    }
    if (at_warmup < 0) { /* warm-up not on a sample: take the next one */
        for (long s = 0; s < samples; s++)
            if ((s + 1) * every > warmup) {
                at_warmup = series[s];
                break;
            }
    }
    double seconds = now() - t0;
    long last = series[samples - 1], growth = peak_after - at_warmup;
    long lo = series[0], hi = series[0];
    for (long s = 0; s < samples; s++) {
        lo = series[s] < lo ? series[s] : lo;
        hi = series[s] > hi ? series[s] : hi;
    }
    printf("soak: %lu explanations, %lu failures as expected, in %.1f s (%.2f ms each)\n", ok_calls,
           failed_calls, seconds, 1e3 * seconds / (double)iterations);
    printf("soak: RSS KiB: first sample %ld, min %ld, max %ld; after warm-up %ld, peak after "
           "it %ld, last %ld: growth %ld KiB (bound %ld)\n",
           series[0], lo, hi, at_warmup, peak_after, last, growth, bound);

    for (int k = 0; k < KINDS; k++)
        egcam_result_free(first[k]);
    egcam_refset_free(set);
    egcam_refset_free(baseline);
    egcam_refset_free(other_set);
    egcam_backend_free(be);
    egcam_backend_free(other);
    egcam_tensor_free(x);
    free(refs);
    free(nan_x);
    free(small);
    egcam_ctx_free(ctx);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan keeps freed memory in quarantine (256 MiB by default), so the
     * resident set grows by design; LeakSanitizer checks at exit instead. */
    printf("soak: built with AddressSanitizer: RSS bound not applied\n");
    bound = LONG_MAX;
#endif
    if (growth > bound) {
        printf("soak: FAIL: RSS grew %ld KiB after the warm-up\n", growth);
        return 1;
    }
    printf("soak: ok\n");
    return 0;
}

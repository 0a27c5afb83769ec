/*
 * bench.c - how much an explanation costs over the passes it cannot avoid.
 *
 * For one TorchScript model, layer, input size, method, N and batch size it
 * times, alternately in one process:
 *
 *   explain  egcam_explain() end to end (with a cached reference set);
 *   floor    the same backend's forward and backward passes that the method
 *            needs at the same batch size, through egcam_backend_forward()
 *            and egcam_backend_backward(), and nothing else:
 *              Grad-CAM             1 forward for backward + 1 backward
 *              Integrated Grad-CAM  1 forward (A(x)) + M forwards for
 *                                   backward + M backwards
 *              Expected Grad-CAM    1 forward (A(x)) + N forwards for
 *                                   backward + N backwards, + N forwards
 *                                   to the layer (A(x + eps)) unless
 *                                   clean difference
 *
 * and prints the median of each, their ratio, forward rows per second and
 * the peak resident memory. Alternating the two keeps slow drifts of a
 * shared machine out of the ratio.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "egcam/egcam_backend.h"
#include "egcam/egcam_torch.h"

typedef struct options {
    const char *model, *layer, *device, *method_name, *json;
    uint32_t channels, height, width;
    uint32_t method, samples, batch, refs, repeats, warmup, threads;
    int clean_difference, skip_floor, passes, uncached_refs, exact;
    uint32_t sampling; /* EGCAM_SAMPLING_*; 0: the default */
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: egcam-bench --model FILE.pt --layer PATH [options]\n"
                "  --size CxHxW          input size (default 3x224x224)\n"
                "  --method NAME         gradcam, integrated or expected (default expected)\n"
                "  --samples N           N (expected) or M (integrated); default 50\n"
                "  --batch B             inputs per backend call (default 16)\n"
                "  --refs R              cached references (default 16; integrated uses 1,\n"
                "                        gradcam none)\n"
                "  --clean-difference    Expected Grad-CAM's clean-difference option\n"
                "  --sampling NAME       independent (default), stratified or antithetic\n"
                "  --repeats K           timed repeats of each (default 5)\n"
                "  --warmup K            untimed repeats first (default 1)\n"
                "  --threads T           LibTorch intra-op threads (default: LibTorch's)\n"
                "  --device NAME         cpu (default), cuda, cuda:N\n"
                "  --exact               run the network below the layer as written\n"
                "                        (EGCAM_TORCH_FLAG_EXACT), not frozen\n"
                "  --no-floor            time the explanation only\n"
                "  --uncached-refs       Expected Grad-CAM makes R uniform references in\n"
                "                        each call instead of using a cached set\n"
                "  --passes              time the backend's passes alone, per row: an\n"
                "                        inference forward, one to the layer, a forward for\n"
                "                        backward, a backward\n"
                "  --json FILE           also append the result as one JSON line\n");
}

/* CxHxW, each a positive decimal number; the whole input under 2^28 floats. */
static int parse_size(const char *s, options *o)
{
    uint32_t v[3];
    for (int i = 0; i < 3; i++) {
        char *end;
        if (*s < '1' || *s > '9')
            return -1;
        errno = 0;
        unsigned long x = strtoul(s, &end, 10);
        if (errno || x > 65536 || *end != (i < 2 ? 'x' : '\0'))
            return -1;
        v[i] = (uint32_t)x;
        s = end + (i < 2);
    }
    if ((uint64_t)v[0] * v[1] * v[2] > (1u << 28))
        return -1;
    o->channels = v[0], o->height = v[1], o->width = v[2];
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.device = "cpu",
                   .method_name = "expected",
                   .channels = 3,
                   .height = 224,
                   .width = 224,
                   .method = EGCAM_METHOD_EXPECTED,
                   .samples = 50,
                   .batch = 16,
                   .refs = 16,
                   .repeats = 5,
                   .warmup = 1};
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},   {"layer", required_argument, 0, 'l'},
        {"size", required_argument, 0, 's'},    {"method", required_argument, 0, 'M'},
        {"samples", required_argument, 0, 'n'}, {"batch", required_argument, 0, 'b'},
        {"refs", required_argument, 0, 'r'},    {"clean-difference", no_argument, 0, 'c'},
        {"repeats", required_argument, 0, 'k'}, {"warmup", required_argument, 0, 'w'},
        {"threads", required_argument, 0, 't'}, {"device", required_argument, 0, 'd'},
        {"no-floor", no_argument, 0, 'F'},      {"exact", no_argument, 0, 'E'},
        {"json", required_argument, 0, 'j'},    {"passes", no_argument, 0, 'P'},
        {"uncached-refs", no_argument, 0, 'U'}, {"sampling", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'l': o->layer = optarg; break;
        case 'd': o->device = optarg; break;
        case 'j': o->json = optarg; break;
        case 'c': o->clean_difference = 1; break;
        case 'S':
            o->sampling = !strcmp(optarg, "independent")  ? EGCAM_SAMPLING_INDEPENDENT
                          : !strcmp(optarg, "stratified") ? EGCAM_SAMPLING_STRATIFIED
                          : !strcmp(optarg, "antithetic") ? EGCAM_SAMPLING_ANTITHETIC
                                                          : 0;
            bad = !o->sampling;
            break;
        case 'F': o->skip_floor = 1; break;
        case 'E': o->exact = 1; break;
        case 'P': o->passes = 1; break;
        case 'U': o->uncached_refs = 1; break;
        case 's': bad = parse_size(optarg, o); break;
        case 'M':
            o->method_name = optarg;
            o->method = !strcmp(optarg, "gradcam")      ? EGCAM_METHOD_GRADCAM
                        : !strcmp(optarg, "integrated") ? EGCAM_METHOD_INTEGRATED
                        : !strcmp(optarg, "expected")   ? EGCAM_METHOD_EXPECTED
                                                        : 0;
            bad = !o->method;
            break;
        case 'n': bad = bench_parse_u32(optarg, &o->samples, 1); break;
        case 'b': bad = bench_parse_u32(optarg, &o->batch, 1); break;
        case 'r': bad = bench_parse_u32(optarg, &o->refs, 1); break;
        case 'k': bad = bench_parse_u32(optarg, &o->repeats, 1); break;
        case 'w': bad = bench_parse_u32(optarg, &o->warmup, 0); break;
        case 't': bad = bench_parse_u32(optarg, &o->threads, 1); break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
        if (bad) {
            fprintf(stderr, "egcam-bench: bad value '%s'\n", optarg);
            return -1;
        }
    }
    if (optind != argc || !o->model || !o->layer) {
        fprintf(stderr, "egcam-bench: --model and --layer are required\n");
        return -1;
    }
    /* Bounds that keep every product below and the repeat count sane. */
    if (o->batch > 4096 || o->refs > 4096 || o->repeats > 100000 || o->warmup > 100000) {
        fprintf(stderr, "egcam-bench: --batch and --refs are at most 4096, --repeats and "
                        "--warmup at most 100000\n");
        return -1;
    }
    if (o->uncached_refs && o->method != EGCAM_METHOD_EXPECTED) {
        fprintf(stderr, "egcam-bench: --uncached-refs is for --method expected\n");
        return -1;
    }
    if (o->method == EGCAM_METHOD_INTEGRATED)
        o->refs = 1;
    if (o->method == EGCAM_METHOD_GRADCAM)
        o->refs = 0;
    return 0;
}

typedef struct bench {
    options o;
    egcam_ctx *ctx;
    egcam_backend *be;
    egcam_refset *refs;
    egcam_config cfg;
    float *x;    /* one input */
    float *rows; /* batch copies of x, for the floor */
    float *seed; /* batch one-hot rows over the logits */
    size_t in_size;
    /* What one explanation costs, from egcam_explain_cost(): rows forwarded
     * (in all), pulled back, and built-in references among the former. */
    uint64_t forward_rows, backward_rows, reference_rows;
} bench;

static int failed(bench *b, const char *what, egcam_status st)
{
    fprintf(stderr, "egcam-bench: %s: %s: %s\n", what, egcam_status_string(st),
            egcam_ctx_last_error(b->ctx));
    return -1;
}

/* Forward `count` rows in batches, each followed by a backward when
 * for_backward; the rows are copies of x (their values do not change the
 * cost of a dense network). */
static int floor_passes(bench *b, uint64_t count, int for_backward, uint32_t lean)
{
    for (uint64_t done = 0; done < count;) {
        uint32_t rows = count - done < b->o.batch ? (uint32_t)(count - done) : b->o.batch;
        egcam_tensor in = {b->rows, {rows, b->o.channels, b->o.height, b->o.width}, 4, 0};
        egcam_tensor acts, logits, grad;
        egcam_status st = egcam_backend_forward(
            b->ctx, b->be, &in, for_backward ? EGCAM_FORWARD_FOR_BACKWARD : lean, &acts, &logits);
        if (st != EGCAM_OK)
            return failed(b, "floor forward", st);
        if (for_backward &&
            (st = egcam_backend_backward(b->ctx, b->be, b->seed, &grad)) != EGCAM_OK)
            return failed(b, "floor backward", st);
        done += rows;
    }
    return 0;
}

/* The passes the method cannot avoid, as egcam_explain_cost() counts them,
 * in the engine's order: A(x) alone, A(x + eps) for the noisy rows, the
 * gradient points; references made per call are not the method's floor. */
static int run_floor(bench *b)
{
    uint64_t no_grad = b->forward_rows - b->backward_rows - b->reference_rows;
    if (no_grad && floor_passes(b, 1, 0, 0)) /* A(x), with its logits */
        return -1;
    /* A(x + eps): activations alone, where the backend can stop there */
    if (no_grad > 1 && floor_passes(b, no_grad - 1, 0, EGCAM_FORWARD_ACTIVATIONS_ONLY))
        return -1;
    return floor_passes(b, b->backward_rows, 1, 0);
}

static int run_explain(bench *b)
{
    egcam_tensor in = {b->x, {1, b->o.channels, b->o.height, b->o.width}, 4, 0};
    egcam_result *res = NULL;
    int cached = b->o.method != EGCAM_METHOD_GRADCAM && !b->o.uncached_refs;
    egcam_status st = egcam_explain(b->ctx, b->be, &b->cfg, &in, cached ? b->refs : NULL, &res);
    if (st != EGCAM_OK)
        return failed(b, "explain", st);
    egcam_result_free(res);
    return 0;
}

/* --passes: the backend's kinds of pass, in ms per row at the batch size,
 * over `samples` rows: an inference forward (logits too), a forward that
 * stops at the layer (EGCAM_FORWARD_ACTIVATIONS_ONLY, what references and
 * noisy copies need), a forward for backward and a backward that stops at
 * the layer. */
static int run_passes(bench *b)
{
    const options *o = &b->o;
    enum { KINDS = 4 };
    double *t[KINDS];
    int rc = 0;
    for (int k = 0; k < KINDS; k++)
        if (!(t[k] = calloc(o->repeats, sizeof *t[k])))
            rc = -1;
    static const uint32_t flags[3] = {0, EGCAM_FORWARD_ACTIVATIONS_ONLY,
                                      EGCAM_FORWARD_FOR_BACKWARD};
    for (uint32_t i = 0; rc == 0 && i < o->warmup + o->repeats; i++) {
        double sum[KINDS] = {0};
        for (uint64_t done = 0; rc == 0 && done < o->samples;) {
            uint32_t rows = o->samples - done < o->batch ? (uint32_t)(o->samples - done) : o->batch;
            egcam_tensor in = {b->rows, {rows, o->channels, o->height, o->width}, 4, 0};
            egcam_tensor acts, logits, grad;
            egcam_status st = EGCAM_OK;
            for (int k = 0; k < 3 && st == EGCAM_OK; k++) {
                double t0 = bench_clock_ms(CLOCK_MONOTONIC);
                st = egcam_backend_forward(b->ctx, b->be, &in, flags[k], &acts, &logits);
                sum[k] += bench_clock_ms(CLOCK_MONOTONIC) - t0;
            }
            double t0 = bench_clock_ms(CLOCK_MONOTONIC);
            if (st == EGCAM_OK)
                st = egcam_backend_backward(b->ctx, b->be, b->seed, &grad);
            sum[3] += bench_clock_ms(CLOCK_MONOTONIC) - t0;
            if (st != EGCAM_OK)
                rc = failed(b, "passes", st);
            done += rows;
        }
        if (i >= o->warmup)
            for (int k = 0; k < KINDS; k++)
                t[k][i - o->warmup] = sum[k] / o->samples;
    }
    if (rc == 0)
        printf("passes per row, batch %u: inference forward %.3f ms  forward to the layer "
               "%.3f ms  forward for backward %.3f ms  backward to the layer %.3f ms\n",
               o->batch, bench_median(t[0], o->repeats), bench_median(t[1], o->repeats),
               bench_median(t[2], o->repeats), bench_median(t[3], o->repeats));
    for (int k = 0; k < KINDS; k++)
        free(t[k]);
    return rc;
}

static int setup(bench *b)
{
    const options *o = &b->o;
    egcam_status st;
    if ((st = egcam_ctx_new(&b->ctx)) != EGCAM_OK) {
        fprintf(stderr, "egcam-bench: %s\n", egcam_status_string(st));
        return -1;
    }
    if (o->threads && (st = egcam_torch_set_threads(b->ctx, o->threads)) != EGCAM_OK)
        return failed(b, "threads", st);
    egcam_torch_options topts;
    if ((st = egcam_torch_options_init(&topts)) != EGCAM_OK)
        return failed(b, "options", st);
    topts.device = o->device;
    if (o->exact)
        topts.flags |= EGCAM_TORCH_FLAG_EXACT;
    if ((st = egcam_torch_open(b->ctx, o->model, o->layer, &topts, &b->be)) != EGCAM_OK)
        return failed(b, "open", st);
    b->in_size = (size_t)o->channels * o->height * o->width;
    b->x = malloc(b->in_size * sizeof *b->x);
    b->rows = malloc(b->in_size * o->batch * sizeof *b->rows);
    float *refs = malloc(b->in_size * (o->refs ? o->refs : 1) * sizeof *refs);
    if (!b->x || !b->rows || !refs) {
        free(refs);
        fprintf(stderr, "egcam-bench: out of memory\n");
        return -1;
    }
    bench_fill(b->x, b->in_size, 1, -2.0f, 2.0f);
    for (uint32_t r = 0; r < o->batch; r++)
        memcpy(b->rows + r * b->in_size, b->x, b->in_size * sizeof *b->x);
    /* References: Integrated Grad-CAM's baseline is zeros, Expected
     * Grad-CAM's set is noise, both forwarded once, as a caller caches them.
     * Grad-CAM has none. */
    if (o->method == EGCAM_METHOD_INTEGRATED)
        memset(refs, 0, b->in_size * sizeof *refs);
    else
        bench_fill(refs, b->in_size * o->refs, 2, -2.0f, 2.0f);
    egcam_tensor rt = {refs, {o->refs, o->channels, o->height, o->width}, 4, 0};
    st = o->refs ? egcam_refset_new(b->ctx, b->be, &rt, o->batch, &b->refs) : EGCAM_OK;
    free(refs);
    if (st != EGCAM_OK)
        return failed(b, "references", st);

    /* The seed rows: the class Grad-CAM would pick, from one forward. */
    egcam_tensor in = {b->x, {1, o->channels, o->height, o->width}, 4, 0}, acts, logits;
    if ((st = egcam_backend_forward(b->ctx, b->be, &in, 0, &acts, &logits)) != EGCAM_OK)
        return failed(b, "forward", st);
    size_t classes = (size_t)logits.shape[1], top = 0;
    for (size_t j = 1; j < classes; j++)
        top = logits.data[j] > logits.data[top] ? j : top;
    b->seed = calloc(classes * o->batch, sizeof *b->seed);
    if (!b->seed) {
        fprintf(stderr, "egcam-bench: out of memory\n");
        return -1;
    }
    for (uint32_t r = 0; r < o->batch; r++)
        b->seed[r * classes + top] = 1.0f;

    if ((st = egcam_config_init(&b->cfg)) != EGCAM_OK)
        return failed(b, "config", st);
    b->cfg.method = o->method;
    b->cfg.samples = b->cfg.steps = o->samples;
    b->cfg.batch_size = o->batch;
    b->cfg.target_class = (int32_t)top;
    b->cfg.sampling = o->sampling;
    if (o->clean_difference)
        b->cfg.flags |= EGCAM_FLAG_CLEAN_DIFFERENCE;
    if (o->uncached_refs && o->method == EGCAM_METHOD_EXPECTED) {
        b->cfg.references = EGCAM_REFERENCES_UNIFORM;
        b->cfg.reference_count = o->refs;
    }
    int cached = o->method != EGCAM_METHOD_GRADCAM && !o->uncached_refs;
    if ((st = egcam_explain_cost(b->ctx, &b->cfg, &in, cached ? b->refs : NULL, &b->forward_rows,
                                 &b->backward_rows, &b->reference_rows)) != EGCAM_OK)
        return failed(b, "cost", st);
    return 0;
}

static void teardown(bench *b)
{
    egcam_refset_free(b->refs);
    egcam_backend_free(b->be);
    egcam_ctx_free(b->ctx);
    free(b->x);
    free(b->rows);
    free(b->seed);
}

/* Print the medians (ms of wall and CPU time) and their ratios; append
 * them to the --json file. */
static int report(const bench *b, double ms, double floor_ms, double cpu, double floor_cpu)
{
    const options *o = &b->o;
    if (o->skip_floor)
        floor_ms = floor_cpu = 0.0;
    double ratio = o->skip_floor ? 0.0 : ms / floor_ms;
    double cpu_ratio = o->skip_floor ? 0.0 : cpu / floor_cpu;
    uint64_t n = b->backward_rows, rows = b->forward_rows;
    printf("%-10s %-2s N=%-4llu batch=%-2u explain %8.1f ms  floor %8.1f ms  ratio %.3f  "
           "(cpu %.3f)  %5.1f fwd/s  peak %6.1f MiB\n",
           o->method_name, o->clean_difference ? "cd" : "", (unsigned long long)n, o->batch, ms,
           floor_ms, ratio, cpu_ratio, (double)rows / (ms / 1e3), bench_peak_rss_mib());
    if (!o->json)
        return 0;
    FILE *f = fopen(o->json, "a");
    if (!f) {
        fprintf(stderr, "egcam-bench: %s: %s\n", o->json, strerror(errno));
        return -1;
    }
    fputs("{\"model\":\"", f);
    bench_json_string(f, o->model);
    fputs("\",\"layer\":\"", f);
    bench_json_string(f, o->layer);
    fputs("\",\"device\":\"", f);
    bench_json_string(f, o->device);
    fputs("\",\"backend\":\"", f);
    bench_json_string(f, egcam_backend_name(b->be));
    fprintf(f,
            "\",\"method\":\"%s\",\"sampling\":\"%s\",\"clean_difference\":%d,\"uncached_refs\":%d,"
            "\"n\":%llu,"
            "\"batch\":%u,\"refs\":%u,\"threads\":%u,\"repeats\":%u,\"explain_ms\":%.3f,"
            "\"floor_ms\":%.3f,\"ratio\":%.4f,\"explain_cpu_ms\":%.3f,\"floor_cpu_ms\":%.3f,"
            "\"forward_rows\":%llu,\"peak_rss_mib\":%.1f}\n",
            o->method_name, egcam_sampling_name(o->sampling), o->clean_difference, o->uncached_refs,
            (unsigned long long)n, o->batch, o->refs, o->threads, o->repeats, ms, floor_ms, ratio,
            cpu, floor_cpu, (unsigned long long)rows, bench_peak_rss_mib());
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench b = {0};
    if (parse_options(argc, argv, &b.o)) {
        usage(stderr);
        return 2;
    }
    int rc = setup(&b);
    if (rc == 0 && b.o.passes) {
        rc = run_passes(&b);
        teardown(&b);
        return rc ? 1 : 0;
    }
    /* Wall time, and the process's CPU time: on a busy machine the second
     * is the steadier of the two (with one thread). */
    double *t[4];
    for (int k = 0; k < 4; k++)
        if (!(t[k] = calloc(b.o.repeats, sizeof *t[k])))
            rc = -1;
    for (uint32_t i = 0; rc == 0 && i < b.o.warmup + b.o.repeats; i++) {
        double w0 = bench_clock_ms(CLOCK_MONOTONIC), c0 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        rc = run_explain(&b);
        double w1 = bench_clock_ms(CLOCK_MONOTONIC), c1 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (rc == 0 && !b.o.skip_floor)
            rc = run_floor(&b);
        double w2 = bench_clock_ms(CLOCK_MONOTONIC), c2 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (i >= b.o.warmup) {
            uint32_t r = i - b.o.warmup;
            t[0][r] = w1 - w0, t[1][r] = w2 - w1, t[2][r] = c1 - c0, t[3][r] = c2 - c1;
        }
    }
    if (rc == 0)
        rc = report(&b, bench_median(t[0], b.o.repeats), bench_median(t[1], b.o.repeats),
                    bench_median(t[2], b.o.repeats), bench_median(t[3], b.o.repeats));
    for (int k = 0; k < 4; k++)
        free(t[k]);
    teardown(&b);
    return rc ? 1 : 0;
}

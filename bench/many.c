/*
 * many.c - what explaining many targets and many images per call saves.
 *
 * For one TorchScript model, layer, input size, method and batch size it
 * times, alternately in one process:
 *
 *   many  egcam_explain_many(): B images, the top T classes of each, in one
 *         call (rows of different images sharing backend batches, the T
 *         targets of a batch sharing its forward);
 *   one   the top class of each of the B images, one egcam_explain() each
 *         (what B explanations cost one at a time);
 *
 * and prints the medians and their ratio, many / one. With B = 1 the ratio
 * is what T classes cost against one; with T = 1, what explaining B images
 * in one call costs against one at a time. Expected and Integrated Grad-CAM
 * use a cached reference set (16 uniform references, or the zero
 * baseline), as bench.c does.
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
#include "egcam/egcam_torch.h"

typedef struct options {
    const char *model, *layer, *device, *method_name, *json;
    uint32_t channels, height, width;
    uint32_t method, samples, batch, refs, targets, images, repeats, threads;
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: egcam-bench-many --model FILE.pt --layer PATH [options]\n"
                "  --size CxHxW      input size (default 3x224x224)\n"
                "  --method NAME     gradcam, integrated or expected (default expected)\n"
                "  --samples N       N (expected) or M (integrated); default 50\n"
                "  --batch B         rows per backend call (default 16)\n"
                "  --targets T       top classes per image (default 5)\n"
                "  --images B        images per call (default 1)\n"
                "  --repeats K       timed repeats of each, after one warm-up (default 5)\n"
                "  --threads T       LibTorch intra-op threads (default: LibTorch's)\n"
                "  --device NAME     cpu (default), cuda, cuda:N\n"
                "  --json FILE       append the result as one JSON line\n");
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
                   .targets = 5,
                   .images = 1,
                   .repeats = 5};
    static const struct option longs[] = {{"model", 1, 0, 'm'},
                                          {"layer", 1, 0, 'l'},
                                          {"size", 1, 0, 's'},
                                          {"method", 1, 0, 'M'},
                                          {"samples", 1, 0, 'n'},
                                          {"batch", 1, 0, 'b'},
                                          {"targets", 1, 0, 'T'},
                                          {"images", 1, 0, 'B'},
                                          {"repeats", 1, 0, 'r'},
                                          {"threads", 1, 0, 't'},
                                          {"device", 1, 0, 'd'},
                                          {"json", 1, 0, 'j'},
                                          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'l': o->layer = optarg; break;
        case 's': bad = sscanf(optarg, "%ux%ux%u", &o->channels, &o->height, &o->width) != 3; break;
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
        case 'T': bad = bench_parse_u32(optarg, &o->targets, 1); break;
        case 'B': bad = bench_parse_u32(optarg, &o->images, 1); break;
        case 'r': bad = bench_parse_u32(optarg, &o->repeats, 1); break;
        case 't': bad = bench_parse_u32(optarg, &o->threads, 1); break;
        case 'd': o->device = optarg; break;
        case 'j': o->json = optarg; break;
        default: bad = 1;
        }
        if (bad)
            return -1;
    }
    return o->model && o->layer && optind == argc ? 0 : -1;
}

typedef struct bench {
    options o;
    egcam_ctx *ctx;
    egcam_backend *be;
    egcam_refset *refs;
    egcam_config cfg;
    float *x; /* B images */
    size_t in_size;
    egcam_result **out;
} bench;

static int failed(const bench *b, const char *what, egcam_status st)
{
    fprintf(stderr, "egcam-bench-many: %s: %s: %s\n", what, egcam_status_string(st),
            egcam_ctx_last_error(b->ctx));
    return -1;
}

static int setup(bench *b)
{
    const options *o = &b->o;
    egcam_status st;
    if ((st = egcam_ctx_new(&b->ctx)) != EGCAM_OK)
        return -1;
    if (o->threads && (st = egcam_torch_set_threads(b->ctx, o->threads)) != EGCAM_OK)
        return failed(b, "threads", st);
    egcam_torch_options topts;
    if ((st = egcam_torch_options_init(&topts)) != EGCAM_OK)
        return failed(b, "options", st);
    topts.device = o->device;
    if ((st = egcam_torch_open(b->ctx, o->model, o->layer, &topts, &b->be)) != EGCAM_OK)
        return failed(b, "open", st);
    b->in_size = (size_t)o->channels * o->height * o->width;
    uint32_t refs = o->method == EGCAM_METHOD_EXPECTED ? o->refs : 1;
    b->x = malloc(b->in_size * o->images * sizeof *b->x);
    float *r = calloc(b->in_size * refs, sizeof *r);
    b->out = calloc((size_t)o->images * o->targets, sizeof *b->out);
    if (!b->x || !r || !b->out) {
        free(r);
        fprintf(stderr, "egcam-bench-many: out of memory\n");
        return -1;
    }
    for (uint32_t i = 0; i < o->images; i++)
        bench_fill(b->x + i * b->in_size, b->in_size, 1 + i, -2.0f, 2.0f);
    if (o->method == EGCAM_METHOD_EXPECTED) /* noise; Integrated's baseline: zeros */
        bench_fill(r, b->in_size * refs, 1000, -2.0f, 2.0f);
    egcam_tensor rt = {r, {refs, o->channels, o->height, o->width}, 4, 0};
    st = o->method != EGCAM_METHOD_GRADCAM
             ? egcam_refset_new(b->ctx, b->be, &rt, o->batch, &b->refs)
             : EGCAM_OK;
    free(r);
    if (st != EGCAM_OK)
        return failed(b, "references", st);
    if ((st = egcam_config_init(&b->cfg)) != EGCAM_OK)
        return failed(b, "config", st);
    b->cfg.method = o->method;
    b->cfg.samples = b->cfg.steps = o->samples;
    b->cfg.batch_size = o->batch;
    return 0;
}

/* The B images, the top T classes of each, in one call. */
static int run_many(bench *b)
{
    const options *o = &b->o;
    egcam_tensor in = {b->x, {o->images, o->channels, o->height, o->width}, 4, 0};
    egcam_status st =
        egcam_explain_many(b->ctx, b->be, &b->cfg, &in, 1, NULL, o->targets, b->refs, b->out, NULL);
    for (size_t i = 0; i < (size_t)o->images * o->targets; i++)
        egcam_result_free(b->out[i]);
    return st == EGCAM_OK ? 0 : failed(b, "explain_many", st);
}

/* The top class of each image, one call each. */
static int run_one(bench *b)
{
    const options *o = &b->o;
    for (uint32_t i = 0; i < o->images; i++) {
        egcam_tensor in = {b->x + i * b->in_size, {1, o->channels, o->height, o->width}, 4, 0};
        egcam_result *res = NULL;
        egcam_status st = egcam_explain(b->ctx, b->be, &b->cfg, &in, b->refs, &res);
        egcam_result_free(res);
        if (st != EGCAM_OK)
            return failed(b, "explain", st);
    }
    return 0;
}

static void teardown(bench *b)
{
    egcam_refset_free(b->refs);
    egcam_backend_free(b->be);
    egcam_ctx_free(b->ctx);
    free(b->x);
    free(b->out);
}

int main(int argc, char **argv)
{
    bench b = {0};
    if (parse_options(argc, argv, &b.o)) {
        usage(stderr);
        return 2;
    }
    const options *o = &b.o;
    int rc = setup(&b);
    double *many = calloc(o->repeats, sizeof *many), *one = calloc(o->repeats, sizeof *one);
    if (!many || !one)
        rc = -1;
    for (uint32_t i = 0; rc == 0 && i < 1 + o->repeats; i++) { /* the first: warm-up */
        double t0 = bench_clock_ms(CLOCK_MONOTONIC);
        rc = run_many(&b);
        double t1 = bench_clock_ms(CLOCK_MONOTONIC);
        if (rc == 0)
            rc = run_one(&b);
        double t2 = bench_clock_ms(CLOCK_MONOTONIC);
        if (i > 0)
            many[i - 1] = t1 - t0, one[i - 1] = t2 - t1;
    }
    if (rc == 0) {
        double m = bench_median(many, o->repeats), s = bench_median(one, o->repeats);
        printf("%-10s N=%-3u batch=%-2u images=%-3u targets=%-2u  many %9.1f ms  one at a time "
               "(top class) %9.1f ms  ratio %.3f  per image %.1f / %.1f ms  peak %.1f MiB\n",
               o->method_name, o->samples, o->batch, o->images, o->targets, m, s, m / s,
               m / o->images, s / o->images, bench_peak_rss_mib());
        FILE *f = o->json ? fopen(o->json, "a") : NULL;
        if (o->json && !f) {
            fprintf(stderr, "egcam-bench-many: %s: %s\n", o->json, strerror(errno));
            rc = -1;
        }
        if (f) {
            fprintf(f,
                    "{\"bench\":\"many\",\"model\":\"%s\",\"layer\":\"%s\",\"method\":\"%s\","
                    "\"samples\":%u,\"batch\":%u,\"images\":%u,\"targets\":%u,\"threads\":%u,"
                    "\"repeats\":%u,\"many_ms\":%.3f,\"one_ms\":%.3f,\"ratio\":%.4f,"
                    "\"peak_rss_mib\":%.1f}\n",
                    o->model, o->layer, o->method_name, o->samples, o->batch, o->images, o->targets,
                    o->threads, o->repeats, m, s, m / s, bench_peak_rss_mib());
            rc = fclose(f) == 0 ? rc : -1;
        }
    }
    free(many);
    free(one);
    teardown(&b);
    return rc ? 1 : 0;
}

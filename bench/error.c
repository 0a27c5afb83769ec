/*
 * error.c - the error of Expected Grad-CAM's map against N, per sampling
 * scheme: what the schemes past independent sampling save.
 *
 * For each input of a [B, C, H, W] .npy, it makes a reference map with
 * independent sampling at a large N (default 4096, seed 1), then explains
 * the input with each scheme at each N of a list (seed 100 + b) and
 * compares the signed layer map (sum_k w_k A_k before the ReLU, h x w):
 *
 *   relative MSE   sum (m - ref)^2 / sum ref^2
 *   1 - r          one minus the Pearson correlation of m and ref
 *
 * averaged over the inputs, with the standard error of the mean MSE and
 * the median of the inputs' MSEs: a few inputs with a small reference map can
 * carry the mean. It prints a row per scheme and N, and for each scheme
 * the smallest N of the list whose MSE is at most independent sampling's
 * at --match (default 50), by the mean and by the median. References: a
 * [R, C, H, W] .npy forwarded once (--refs), or the built-in zeros.
 *
 * A reference map at N = 4096 takes minutes an input on a small machine,
 * so --resume FILE keeps each finished input's errors in FILE and skips
 * them when run again: a table of 50 inputs can be built over several
 * runs, and reads the same as one made in one go (every seed depends on
 * the input's index only). FILE's first line records the model, layer,
 * N and noise, and FILE.data the inputs, references (hashes) and batch: a
 * run with others is refused. --table-only prints the table of the
 * inputs FILE holds and computes nothing (the model is not opened).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "egcam/egcam_image.h"
#include "egcam/egcam_torch.h"

enum { MAX_NS = 16 };

typedef struct options {
    const char *model, *layer, *inputs, *refs, *json, *label, *partial, *markdown, *resume;
    uint32_t reference_n, match, batch, threads, count;
    uint32_t random_shape[4]; /* --random-inputs B,C,H,W; B = 0: --inputs */
    uint32_t ns[MAX_NS];
    int n_count, table_only;
    float noise;
} options;

/* One input's errors: relative MSE and 1 - r per scheme and N. */
typedef struct errors {
    double mse[3][MAX_NS], decor[3][MAX_NS];
} errors;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: egcam-bench-error --model FILE.pt --layer PATH --inputs X.npy [options]\n"
            "  --random-inputs B,C,H,W  B inputs uniform in [-2, 2] in place of --inputs\n"
            "  --refs R.npy          Expected Grad-CAM's reference set (default: zeros)\n"
            "  --ns 8,16,32,50       the N to measure (default 8,12,16,24,32,50)\n"
            "  --reference-n N       N of the reference maps (default 4096)\n"
            "  --match N             the independent N the others must match (default 50)\n"
            "  --count B             inputs to use, from the first (default: all)\n"
            "  --noise LEVEL         noise level (default 0.1)\n"
            "  --batch B             rows per backend call (default 16)\n"
            "  --threads T           LibTorch intra-op threads\n"
            "  --label TEXT          what the json lines call the model\n"
            "  --json FILE           append one JSON line per scheme and N\n"
            "  --partial FILE        rewrite FILE with the table so far after each input\n"
            "  --markdown FILE       the same table in Markdown, rewritten as --partial is\n"
            "  --resume FILE         keep each input's errors in FILE; skip the inputs it holds\n"
            "  --table-only          with --resume: the table of the inputs FILE holds\n");
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.reference_n = 4096,
                   .match = 50,
                   .batch = 16,
                   .noise = 0.1f,
                   .ns = {8, 12, 16, 24, 32, 50},
                   .n_count = 6,
                   .label = "model"};
    static const struct option longs[] = {{"model", 1, 0, 'm'},
                                          {"layer", 1, 0, 'l'},
                                          {"inputs", 1, 0, 'i'},
                                          {"refs", 1, 0, 'r'},
                                          {"ns", 1, 0, 'n'},
                                          {"reference-n", 1, 0, 'R'},
                                          {"match", 1, 0, 'M'},
                                          {"count", 1, 0, 'c'},
                                          {"noise", 1, 0, 'z'},
                                          {"batch", 1, 0, 'b'},
                                          {"threads", 1, 0, 't'},
                                          {"json", 1, 0, 'j'},
                                          {"label", 1, 0, 'L'},
                                          {"partial", 1, 0, 'p'},
                                          {"resume", 1, 0, 'e'},
                                          {"markdown", 1, 0, 'd'},
                                          {"table-only", 0, 0, 'T'},
                                          {"random-inputs", 1, 0, 'I'},
                                          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'l': o->layer = optarg; break;
        case 'i': o->inputs = optarg; break;
        case 'r': o->refs = optarg; break;
        case 'n':
            o->n_count = 0;
            for (char *p = optarg; *p && o->n_count < MAX_NS;) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p || v == 0 || v > 1u << 20)
                    return -1;
                o->ns[o->n_count++] = (uint32_t)v;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                    return -1;
            }
            break;
        case 'R':
            if (bench_parse_u32(optarg, &o->reference_n, 0) != 0)
                return -1;
            break;
        case 'M':
            if (bench_parse_u32(optarg, &o->match, 0) != 0)
                return -1;
            break;
        case 'c':
            if (bench_parse_u32(optarg, &o->count, 0) != 0)
                return -1;
            break;
        case 'z': o->noise = strtof(optarg, NULL); break;
        case 'b':
            if (bench_parse_u32(optarg, &o->batch, 0) != 0)
                return -1;
            break;
        case 't':
            if (bench_parse_u32(optarg, &o->threads, 0) != 0)
                return -1;
            break;
        case 'j': o->json = optarg; break;
        case 'p': o->partial = optarg; break;
        case 'e': o->resume = optarg; break;
        case 'L': o->label = optarg; break;
        case 'd': o->markdown = optarg; break;
        case 'T': o->table_only = 1; break;
        case 'I': {
            char *p = optarg, *end;
            for (int i = 0; i < 4; i++) {
                unsigned long v = strtoul(p, &end, 10);
                if (end == p || v == 0 || v > 4096 || *end != (i < 3 ? ',' : '\0'))
                    return -1;
                o->random_shape[i] = (uint32_t)v;
                p = end + 1;
            }
            break;
        }
        default: return -1;
        }
    }
    int one_source = !o->inputs != !o->random_shape[0];
    return o->model && o->layer && one_source && o->reference_n && o->batch &&
                   (!o->table_only || o->resume) && optind == argc
               ? 0
               : -1;
}

/* The signed layer map of one explanation into out (h x w). */
static int signed_map(egcam_ctx *ctx, egcam_backend *be, egcam_config *cfg, const egcam_tensor *x,
                      const egcam_refset *refs, float *out, size_t *n)
{
    egcam_result *res = NULL;
    if (egcam_explain(ctx, be, cfg, x, refs, &res) != EGCAM_OK) {
        fprintf(stderr, "egcam-bench-error: %s\n", egcam_ctx_last_error(ctx));
        return -1;
    }
    uint32_t h, w;
    const float *m = egcam_result_map(res, EGCAM_MAP_SIGNED, &h, &w);
    *n = (size_t)h * w;
    if (*n > (size_t)1 << 20) {
        fprintf(stderr, "egcam-bench-error: a layer map of %zu positions is too large\n", *n);
        egcam_result_free(res);
        return -1;
    }
    memcpy(out, m, *n * sizeof *out);
    egcam_result_free(res);
    return 0;
}

/* Relative MSE and 1 - correlation of m against ref. */
static void compare(const float *m, const float *ref, size_t n, double *mse, double *decor)
{
    double se = 0, ss = 0, ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        se += ((double)m[i] - ref[i]) * ((double)m[i] - ref[i]);
        ss += (double)ref[i] * ref[i];
        ma += m[i] / (double)n;
        mb += ref[i] / (double)n;
    }
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (m[i] - ma) * (ref[i] - mb);
        saa += (m[i] - ma) * (m[i] - ma);
        sbb += (ref[i] - mb) * (ref[i] - mb);
    }
    *mse = ss > 0 ? se / ss : 0;
    *decor = saa > 0 && sbb > 0 ? 1 - sab / sqrt(saa * sbb) : 0;
}

static const uint32_t schemes[3] = {EGCAM_SAMPLING_INDEPENDENT, EGCAM_SAMPLING_STRATIFIED,
                                    EGCAM_SAMPLING_ANTITHETIC};

/* What the table says of one scheme at one N, over the inputs done. */
typedef struct cell {
    double mse, se, median, decor; /* se: of the mean MSE; NAN for one input */
} cell;

/* The cells over the inputs b < count with done[b]; 0, or -1 (memory). */
static int tabulate(const options *o, const errors *per, const unsigned char *done, size_t count,
                    cell out[3][MAX_NS], size_t *n_done)
{
    double *v = malloc((count ? count : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < o->n_count; k++) {
            double sum = 0, decor = 0;
            n = 0;
            for (size_t b = 0; b < count; b++)
                if (done[b]) {
                    v[n++] = per[b].mse[s][k];
                    sum += per[b].mse[s][k];
                    decor += per[b].decor[s][k];
                }
            double mean = n ? sum / (double)n : NAN, ss = 0;
            for (size_t i = 0; i < n; i++)
                ss += (v[i] - mean) * (v[i] - mean);
            out[s][k] = (cell){.mse = mean,
                               .se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : NAN,
                               .median = n ? bench_median(v, (uint32_t)n) : NAN,
                               .decor = n ? decor / (double)n : NAN};
        }
    free(v);
    *n_done = n;
    return 0;
}

/* The smallest N of the list whose value (the mean MSE, or the median's)
 * is at most independent sampling's at --match; 0: none is; UINT32_MAX:
 * --match is not in the list. */
static uint32_t needed_n(const options *o, cell c[3][MAX_NS], int s, int by_median)
{
    double target = -1;
    for (int k = 0; k < o->n_count; k++)
        if (o->ns[k] == o->match)
            target = by_median ? c[0][k].median : c[0][k].mse;
    if (target < 0)
        return UINT32_MAX;
    for (int k = 0; k < o->n_count; k++)
        if ((by_median ? c[s][k].median : c[s][k].mse) <= target)
            return o->ns[k];
    return 0;
}

/* "N = 16", or "more than N = 50" where no N of the list is enough. */
static void print_needed(const options *o, FILE *out, uint32_t n)
{
    if (n)
        fprintf(out, "N = %u", n);
    else
        fprintf(out, "more than N = %u", o->ns[o->n_count - 1]);
}

/* The table as text (rows of scheme and N), or as Markdown (a row per N,
 * two columns per scheme, then the median of the inputs' MSEs). */
static void print_table(const options *o, cell c[3][MAX_NS], size_t n_done, int markdown, FILE *out)
{
    fprintf(out, "%s%s, %s: %zu inputs, reference N = %u, noise %.2g%s\n", markdown ? "**" : "",
            o->label, o->layer, n_done, o->reference_n, (double)o->noise,
            markdown ? ".** Relative MSE as the mean ± its standard error over the inputs." : "");
    if (markdown) {
        fprintf(out, "\n| N |");
        for (int s = 0; s < 3; s++)
            fprintf(out, " %s: rel. MSE | 1 − r |", egcam_sampling_name(schemes[s]));
        fprintf(out, "\n| ---: |%s\n", " ---: | ---: | ---: | ---: | ---: | ---: |");
        for (int k = 0; k < o->n_count; k++) {
            fprintf(out, "| %u |", o->ns[k]);
            for (int s = 0; s < 3; s++) {
                fprintf(out, " %.3g", c[s][k].mse);
                if (!isnan(c[s][k].se))
                    fprintf(out, " ± %.2g", c[s][k].se);
                fprintf(out, " | %.3g |", c[s][k].decor);
            }
            fprintf(out, "\n");
        }
        fprintf(out, "\nThe median of the inputs' rel. MSE:\n\n| N |");
        for (int s = 0; s < 3; s++)
            fprintf(out, " %s |", egcam_sampling_name(schemes[s]));
        fprintf(out, "\n| ---: | ---: | ---: | ---: |\n");
        for (int k = 0; k < o->n_count; k++) {
            fprintf(out, "| %u |", o->ns[k]);
            for (int s = 0; s < 3; s++)
                fprintf(out, " %.3g |", c[s][k].median);
            fprintf(out, "\n");
        }
        fprintf(out, "\n");
    } else {
        fprintf(out, "%-12s %6s %12s %12s %12s %12s\n", "scheme", "N", "rel. MSE", "std. err.",
                "median", "1 - r");
        for (int s = 0; s < 3; s++)
            for (int k = 0; k < o->n_count; k++)
                fprintf(out, "%-12s %6u %12.4g %12.2g %12.4g %12.4g\n",
                        egcam_sampling_name(schemes[s]), o->ns[k], c[s][k].mse, c[s][k].se,
                        c[s][k].median, c[s][k].decor);
    }
    for (int s = 0; s < 3 && needed_n(o, c, 0, 0) != UINT32_MAX; s++) {
        fprintf(out, "%s%s needs ", markdown ? "- " : "", egcam_sampling_name(schemes[s]));
        print_needed(o, out, needed_n(o, c, s, 0));
        fprintf(out, " by the mean (");
        print_needed(o, out, needed_n(o, c, s, 1));
        fprintf(out, " by the median) to match independent sampling at N = %u\n", o->match);
    }
}

/* A JSON line per scheme and N. */
static void print_json(const options *o, cell c[3][MAX_NS], size_t n_done, FILE *json)
{
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < o->n_count; k++) {
            fprintf(json, "{\"bench\":\"error\",\"model\":");
            bench_json_string(json, o->label);
            fprintf(json, ",\"layer\":");
            bench_json_string(json, o->layer);
            fprintf(json,
                    ",\"inputs\":%zu,\"reference_n\":%u,\"scheme\":\"%s\",\"n\":%u,"
                    "\"rel_mse\":%.6g,\"rel_mse_se\":",
                    n_done, o->reference_n, egcam_sampling_name(schemes[s]), o->ns[k], c[s][k].mse);
            if (isnan(c[s][k].se)) /* one input: no error to give */
                fprintf(json, "null");
            else
                fprintf(json, "%.6g", c[s][k].se);
            fprintf(json, ",\"rel_mse_median\":%.6g,\"one_minus_r\":%.6g}\n", c[s][k].median,
                    c[s][k].decor);
        }
}

/* The table so far into path, whole or not at all: written beside it,
 * then renamed over it, so that a run stopped at any moment leaves the
 * last whole table. */
static int write_table(const char *path, const options *o, cell c[3][MAX_NS], size_t n_done,
                       int markdown)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    print_table(o, c, n_done, markdown, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* The first line of a --resume file: what its errors were measured with.
 * A file made with other settings is refused rather than mixed in. The
 * model by its file name only: the directory is the machine's, and a log
 * kept with the sources must go on from another checkout. */
static void resume_header(const options *o, char *out, size_t size)
{
    const char *slash = strrchr(o->model, '/');
    int at = snprintf(out, size, "# egcam-bench-error %s %s reference_n=%u noise=%g ns=",
                      slash ? slash + 1 : o->model, o->layer, o->reference_n, (double)o->noise);
    for (int k = 0; k < o->n_count && at > 0 && (size_t)at < size; k++)
        at += snprintf(out + at, size - (size_t)at, "%s%u", k ? "," : "", o->ns[k]);
}

/* FNV-1a over a tensor's shape and data (0 for none). */
static uint64_t tensor_hash(const egcam_tensor *t)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (!t)
        return 0;
    const unsigned char *p = (const unsigned char *)t->shape;
    for (size_t i = 0; i < sizeof t->shape; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    size_t n = 1;
    for (uint32_t d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    p = (const unsigned char *)t->data;
    for (size_t i = 0; i < n * sizeof(float); i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* FILE.data beside the --resume file: what its inputs and references were
 * (hashes of the tensors) and the batch. The first run that finds none
 * writes it; later runs must match it. 0, or -1 after saying why. */
static int resume_data(const options *o, const egcam_tensor *inputs, const egcam_tensor *refs)
{
    char path[4096], want[128], got[128] = "";
    if (snprintf(path, sizeof path, "%s.data", o->resume) >= (int)sizeof path) {
        fprintf(stderr, "egcam-bench-error: %s: name too long\n", o->resume);
        return -1;
    }
    snprintf(want, sizeof want, "inputs=%016llx refs=%016llx batch=%u",
             (unsigned long long)tensor_hash(inputs), (unsigned long long)tensor_hash(refs),
             o->batch);
    FILE *f = fopen(path, "r");
    if (f) {
        int read = fgets(got, sizeof got, f) != NULL;
        fclose(f);
        got[strcspn(got, "\n")] = '\0';
        if (read && strcmp(got, want) == 0)
            return 0;
        fprintf(stderr,
                "egcam-bench-error: %s was made with other inputs, references or batch (%s, "
                "not %s)\n",
                o->resume, got, want);
        return -1;
    }
    if (o->table_only)
        return 0;
    if (!(f = fopen(path, "w")) || fprintf(f, "%s\n", want) < 0 || fclose(f) != 0) {
        fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the inputs already done from o->resume into done[] and per[]; a
 * missing or empty file is a new one and gets the header. Each line after
 * it: "B MSE... DECOR..." with 3 * n_count values each. */
static int resume_read(const options *o, size_t count, unsigned char *done, errors *per)
{
    char header[4096], line[16384];
    resume_header(o, header, sizeof header);
    FILE *f = fopen(o->resume, "r");
    int empty = 0;
    if (f && !fgets(line, sizeof line, f)) { /* made, then stopped before its header */
        fclose(f);
        f = NULL;
        empty = 1;
    }
    if (!f) {
        if (o->table_only) {
            fprintf(stderr, "egcam-bench-error: cannot read %s: %s\n", o->resume,
                    empty ? "it is empty" : strerror(errno));
            return -1;
        }
        if ((!empty && errno != ENOENT) || !(f = fopen(o->resume, "w")) ||
            fprintf(f, "%s\n", header) < 0 || fclose(f) != 0) {
            fprintf(stderr, "egcam-bench-error: cannot resume from %s: %s\n", o->resume,
                    strerror(errno));
            return -1;
        }
        return 0;
    }
    if (strcspn(line, "\n") != strlen(header) || strncmp(line, header, strlen(header)) != 0) {
        fprintf(stderr, "egcam-bench-error: %s was made with other settings\n", o->resume);
        fclose(f);
        return -1;
    }
    int ends_line = 1;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        ends_line = len > 0 && line[len - 1] == '\n';
        char *p = line, *end;
        unsigned long b = strtoul(p, &end, 10);
        errors e;
        int ok = end != p;
        for (int s = 0; s < 3 && ok; s++)
            for (int k = 0; k < o->n_count && ok; k++) {
                p = end;
                e.mse[s][k] = strtod(p, &end);
                ok = end != p;
            }
        for (int s = 0; s < 3 && ok; s++)
            for (int k = 0; k < o->n_count && ok; k++) {
                p = end;
                e.decor[s][k] = strtod(p, &end);
                ok = end != p;
            }
        if (!ok || *end != '\n') /* a line cut short by a stop: that input is redone */
            continue;
        if (b >= count)
            continue;
        /* A later line for the same input is its redoing (an older version
         * of this program ended a cut line with a bare newline): it wins. */
        done[b] = 1;
        per[b] = e;
    }
    fclose(f);
    /* End a line cut short, so that the next input's line starts afresh,
     * with words that keep it from reading as whole when read again. */
    if (!ends_line && !o->table_only &&
        (!(f = fopen(o->resume, "a")) || fputs(" (cut short)\n", f) == EOF || fclose(f) != 0)) {
        fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", o->resume, strerror(errno));
        return -1;
    }
    return 0;
}

/* Appends input b's errors to o->resume, flushed before the next input. */
static int resume_write(const options *o, size_t b, const errors *e)
{
    FILE *f = fopen(o->resume, "a");
    if (!f)
        return -1;
    fprintf(f, "%zu", b);
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < o->n_count; k++)
            fprintf(f, " %.17g", e->mse[s][k]);
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < o->n_count; k++)
            fprintf(f, " %.17g", e->decor[s][k]);
    fprintf(f, "\n");
    return fclose(f);
}

/* The inputs: --inputs, or --random-inputs drawn from the bench's own
 * generator (seed 7), uniform in [-2, 2]. */
static int read_inputs(egcam_ctx *ctx, const options *o, egcam_tensor **out)
{
    if (o->inputs)
        return egcam_npy_read(ctx, o->inputs, out) == EGCAM_OK ? 0 : -1;
    int64_t shape[4];
    size_t n = 1;
    for (int i = 0; i < 4; i++)
        n *= (size_t)(shape[i] = o->random_shape[i]);
    if (egcam_tensor_new(ctx, shape, 4, out) != EGCAM_OK)
        return -1;
    bench_fill((float *)(*out)->data, n, 7, -2.0f, 2.0f);
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    egcam_ctx *ctx = NULL;
    egcam_backend *be = NULL;
    egcam_tensor *inputs = NULL, *refdata = NULL;
    egcam_refset *refs = NULL;
    float *ref = NULL, *m = NULL; /* maps: the reference and one to compare */
    unsigned char *done = NULL;   /* per input: its errors are in per[] */
    errors *per = NULL;
    int rc = 1;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 1;
    if (read_inputs(ctx, &o, &inputs) != 0 ||
        (o.refs && egcam_npy_read(ctx, o.refs, &refdata) != EGCAM_OK)) {
        fprintf(stderr, "egcam-bench-error: %s\n", egcam_ctx_last_error(ctx));
        goto done;
    }
    if (inputs->ndim != 4) {
        fprintf(stderr, "egcam-bench-error: --inputs must be [B, C, H, W]\n");
        goto done;
    }
    size_t count = (size_t)inputs->shape[0];
    if (o.count && o.count < count)
        count = o.count;
    if (count == 0) {
        fprintf(stderr, "egcam-bench-error: --inputs holds no input\n");
        goto done;
    }
    size_t in_size = (size_t)(inputs->shape[1] * inputs->shape[2] * inputs->shape[3]);
    ref = malloc(sizeof(float) << 20); /* a layer map of up to 2^20 positions */
    m = malloc(sizeof(float) << 20);
    done = calloc(count, 1);
    per = calloc(count, sizeof *per);
    cell table[3][MAX_NS];
    size_t n_done = 0;
    if (!ref || !m || !done || !per) {
        fprintf(stderr, "egcam-bench-error: out of memory\n");
        goto done;
    }
    if (o.resume &&
        (resume_data(&o, inputs, refdata) != 0 || resume_read(&o, count, done, per) != 0))
        goto done;
    /* The model only where there is something to compute. */
    if (!o.table_only &&
        ((o.threads && egcam_torch_set_threads(ctx, o.threads) != EGCAM_OK) ||
         egcam_torch_open(ctx, o.model, o.layer, NULL, &be) != EGCAM_OK ||
         (refdata && egcam_refset_new(ctx, be, refdata, o.batch, &refs) != EGCAM_OK))) {
        fprintf(stderr, "egcam-bench-error: %s\n", egcam_ctx_last_error(ctx));
        goto done;
    }
    size_t finished = 0;
    for (size_t b = 0; b < count; b++)
        finished += done[b];
    for (size_t b = 0; b < count && !o.table_only; b++) {
        if (done[b])
            continue;
        egcam_tensor x = {inputs->data + b * in_size,
                          {inputs->shape[1], inputs->shape[2], inputs->shape[3]},
                          3,
                          0};
        egcam_config cfg;
        if (egcam_config_init(&cfg) != EGCAM_OK)
            goto done;
        cfg.method = EGCAM_METHOD_EXPECTED;
        cfg.noise_level = o.noise;
        cfg.batch_size = o.batch;
        cfg.samples = o.reference_n;
        cfg.seed = 1;
        size_t n;
        if (signed_map(ctx, be, &cfg, &x, refs, ref, &n) != 0)
            goto done;
        for (int s = 0; s < 3; s++)
            for (int k = 0; k < o.n_count; k++) {
                cfg.sampling = schemes[s];
                cfg.samples = o.ns[k];
                cfg.seed = 100 + b;
                if (signed_map(ctx, be, &cfg, &x, refs, m, &n) != 0)
                    goto done;
                compare(m, ref, n, &per[b].mse[s][k], &per[b].decor[s][k]);
            }
        if (o.resume && resume_write(&o, b, &per[b]) != 0) {
            fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", o.resume, strerror(errno));
            goto done;
        }
        done[b] = 1;
        finished++;
        fprintf(stderr, "\r%zu/%zu inputs", finished, count);
        if ((o.partial || o.markdown) && tabulate(&o, per, done, count, table, &n_done) == 0) {
            if (o.partial && write_table(o.partial, &o, table, n_done, 0) != 0)
                fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", o.partial,
                        strerror(errno));
            if (o.markdown && write_table(o.markdown, &o, table, n_done, 1) != 0)
                fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", o.markdown,
                        strerror(errno));
        }
    }
    if (!o.table_only)
        fprintf(stderr, "\n");
    if (tabulate(&o, per, done, count, table, &n_done) != 0) {
        fprintf(stderr, "egcam-bench-error: out of memory\n");
        goto done;
    }
    if (n_done == 0) {
        fprintf(stderr, "egcam-bench-error: %s holds no input's errors\n", o.resume);
        goto done;
    }
    print_table(&o, table, n_done, 0, stdout);
    if (o.markdown && write_table(o.markdown, &o, table, n_done, 1) != 0) {
        fprintf(stderr, "egcam-bench-error: cannot write %s: %s\n", o.markdown, strerror(errno));
        goto done;
    }
    FILE *json = o.json ? fopen(o.json, "a") : NULL;
    if (json) {
        print_json(&o, table, n_done, json);
        fclose(json);
    }
    rc = 0;
done:
    free(per);
    free(done);
    free(ref);
    free(m);
    egcam_refset_free(refs);
    egcam_tensor_free(refdata);
    egcam_tensor_free(inputs);
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    return rc;
}

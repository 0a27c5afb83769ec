/*
 * eval_report.c - what `egcam eval` writes (evaluation.h).
 *
 * Per pair and metric: the mean and a 95% interval (mean +- 1.96 standard
 * errors, a normal approximation: n is in the hundreds). Every pair scores
 * the same images, so pairs are also compared image by image: the mean of
 * the per-image differences, with its own interval, from the first pair
 * and, within each estimator, from that estimator's first pair. Those
 * intervals are far narrower than the per-pair ones when the images vary
 * more than the methods do. With the saturation metric, the images are
 * split at the quartile of how early the layer saturates, and insertion is
 * reported on each part.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "evaluation.h"
#include "plot.h"
#include "process.h"

static const struct {
    const char *name, *brief, *better;
    double scale; /* shown times this (percentages) */
} metric_info[CLI_METRICS] = {
    [CLI_DELETION] = {"Deletion AUC", "deletion", "lower", 1},
    [CLI_INSERTION] = {"Insertion AUC", "insertion", "higher", 1},
    [CLI_INFIDELITY] = {"Infidelity", "infidelity", "lower", 1},
    [CLI_SENSITIVITY] = {"Max-sensitivity", "max-sens.", "lower", 1},
    [CLI_COMPLEXITY] = {"Complexity (entropy)", "entropy", "lower", 1},
    [CLI_DROP] = {"Average drop %", "drop %", "lower", 100},
    [CLI_INCREASE] = {"Increase in confidence %", "increase %", "higher", 100},
    [CLI_POINTING] = {"Pointing game %", "pointing %", "higher", 100},
    [CLI_ENERGY] = {"Energy pointing game", "energy", "higher", 1},
};

typedef struct summary {
    double mean, half; /* half-width of the 95% interval; NaN below n = 2 */
    uint64_t n;
} summary;

/* The mean and interval of a[i] - b[i] (b NULL: of a[i]) over the images i
 * in `only` (NULL: all) where both are finite. */
static summary summarise(const cli_evaluation *ev, int pa, int pb, int k, const uint8_t *only,
                         uint8_t want)
{
    double sum = 0, squares = 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < ev->d->count; i++) {
        if (only && only[i] != want)
            continue;
        double v = *cli_value(ev, i, pa, k);
        if (pb >= 0)
            v -= *cli_value(ev, i, pb, k);
        if (isfinite(v)) {
            sum += v;
            squares += v * v;
            n++;
        }
    }
    summary s = {n ? sum / (double)n : NAN, NAN, n};
    if (n >= 2) {
        double var = (squares - (double)n * s.mean * s.mean) / (double)(n - 1);
        s.half = 1.96 * sqrt(var > 0 ? var : 0) / sqrt((double)n);
    }
    return s;
}

static void cell(char *buf, size_t size, summary s, double scale)
{
    if (s.n < 2) /* no interval from fewer than two values */
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4g ± %.2g", s.mean * scale, s.half * scale);
}

static const char *pair_title(const cli_evaluation *ev, int p, char *buf, size_t size)
{
    const cli_pair *pair = &ev->o->pairs[p];
    snprintf(buf, size, "%s, %s", cli_method_title(pair->method),
             egcam_combiner_name(pair->combiner));
    return buf;
}

/* The first pair of p's estimator. */
static int estimator_first(const cli_evaluation *ev, int p)
{
    for (int q = 0; q < p; q++)
        if (ev->o->pairs[q].method == ev->o->pairs[p].method)
            return q;
    return p;
}

static void header(FILE *md, const cli_evaluation *ev, const char *first)
{
    fprintf(md, "| %s |", first);
    for (int k = 0; k < CLI_METRICS; k++)
        if (cli_metric_measured(ev, k))
            fprintf(md, " %s (%s) |", metric_info[k].name, metric_info[k].better);
    fprintf(md, "\n| --- |");
    for (int k = 0; k < CLI_METRICS; k++)
        if (cli_metric_measured(ev, k))
            fprintf(md, " --- |");
    fputc('\n', md);
}

/* A table of pairs: each pair's values (versus < 0), or its paired
 * differences from pair versus(p). */
static void pair_table(FILE *md, FILE *csv, const cli_evaluation *ev,
                       int (*versus)(const cli_evaluation *, int))
{
    char title[128];
    for (int p = 0; p < ev->pairs; p++) {
        int q = versus ? versus(ev, p) : -1;
        if (versus && q == p)
            continue;
        fprintf(md, "| %s |", pair_title(ev, p, title, sizeof title));
        for (int k = 0; k < CLI_METRICS; k++) {
            if (!cli_metric_measured(ev, k))
                continue;
            char c[64];
            double scale = metric_info[k].scale;
            summary s = summarise(ev, p, q, k, NULL, 0);
            cell(c, sizeof c, s, scale);
            fprintf(md, " %s |", c);
            const cli_pair *a = &ev->o->pairs[p];
            fprintf(csv, "%s,%s,%s,", metric_info[k].name, cli_method_name(a->method),
                    egcam_combiner_name(a->combiner));
            if (versus)
                fprintf(csv, "%s,%s,", cli_method_name(ev->o->pairs[q].method),
                        egcam_combiner_name(ev->o->pairs[q].combiner));
            fprintf(csv, "%.9g,%.9g,%.9g,%llu\n", s.mean * scale, (s.mean - s.half) * scale,
                    (s.mean + s.half) * scale, (unsigned long long)s.n);
        }
        fputc('\n', md);
    }
}

static int versus_first(const cli_evaluation *ev, int p)
{
    (void)ev;
    (void)p;
    return 0;
}

/* Images split at the quartile of saturation: 1 for the most saturated
 * quarter (the largest areas under the cosine curve), else 0. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double split_quartile(const cli_evaluation *ev, uint8_t *part)
{
    uint32_t n = ev->d->count;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return NAN;
    memcpy(sorted, ev->saturation, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double q3 = sorted[(size_t)((3 * (uint64_t)n) / 4 < n ? (3 * (uint64_t)n) / 4 : n - 1)];
    free(sorted);
    for (uint32_t i = 0; i < n; i++)
        part[i] = ev->saturation[i] >= q3;
    return q3;
}

/* Image i's logit at point j, 0 at a = 0 and 1 at x (1 when they are equal). */
static double rescaled_logit(const cli_evaluation *ev, uint32_t i, uint32_t j)
{
    const double *z =
        ev->path_curves + (size_t)i * 2 * CLI_SATURATION_POINTS + CLI_SATURATION_POINTS;
    double span = z[CLI_SATURATION_POINTS - 1] - z[0];
    return span != 0 ? (z[j] - z[0]) / span : 1.0;
}

static void saturation_section(FILE *md, const cli_evaluation *ev)
{
    uint32_t n = ev->d->count;
    uint8_t *part = malloc(n);
    if (!part)
        return;
    double q3 = split_quartile(ev, part);
    double area = 0, a90 = 0, cos_half = 0, logit_quarter = 0, logit_half = 0;
    for (uint32_t i = 0; i < n; i++) {
        area += ev->saturation[i] / n;
        a90 += ev->alpha90[i] / n;
        cos_half +=
            ev->path_curves[(size_t)i * 2 * CLI_SATURATION_POINTS + CLI_SATURATION_POINTS / 2] / n;
        logit_quarter += rescaled_logit(ev, i, (CLI_SATURATION_POINTS - 1) / 4) / n;
        logit_half += rescaled_logit(ev, i, (CLI_SATURATION_POINTS - 1) / 2) / n;
    }
    fprintf(md,
            "\n## Saturation along the path from zeros\n\n"
            "cos(A(a x), A(x)) at %u points a in [0, 1]: mean area under it %.3f, mean cosine "
            "at a = 0.5 %.3f, mean first a where it reaches 0.9: %.3f. The logit, rescaled to "
            "0 at a = 0 and 1 at x: mean %.3f at a = 0.25, %.3f at a = 0.5. The most saturated "
            "quartile: area >= %.3f.\n\n",
            (unsigned)CLI_SATURATION_POINTS, area, cos_half, a90, logit_quarter, logit_half, q3);
    fprintf(md, "| pair | insertion, most saturated quartile | insertion, the rest | "
                "quartile - rest | paired vs first pair, quartile | paired vs first pair, "
                "rest |\n| --- | --- | --- | --- | --- | --- |\n");
    for (int p = 0; p < ev->pairs; p++) {
        char title[128], c[5][64];
        summary top = summarise(ev, p, -1, CLI_INSERTION, part, 1);
        summary rest = summarise(ev, p, -1, CLI_INSERTION, part, 0);
        summary gap = {top.mean - rest.mean, hypot(top.half, rest.half), top.n + rest.n};
        cell(c[0], sizeof c[0], top, 1);
        cell(c[1], sizeof c[1], rest, 1);
        cell(c[2], sizeof c[2], gap, 1);
        cell(c[3], sizeof c[3], p ? summarise(ev, p, 0, CLI_INSERTION, part, 1) : (summary){0}, 1);
        cell(c[4], sizeof c[4], p ? summarise(ev, p, 0, CLI_INSERTION, part, 0) : (summary){0}, 1);
        fprintf(md, "| %s | %s | %s | %s | %s | %s |\n", pair_title(ev, p, title, sizeof title),
                c[0], c[1], c[2], c[3], c[4]);
    }
    free(part);
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "egcam: cannot write %s\n", path);
    return f;
}

static int write_images_csv(const cli_evaluation *ev, FILE *f)
{
    fprintf(f, "image,name,label,class,method,combiner");
    for (int k = 0; k < CLI_METRICS; k++)
        if (cli_metric_measured(ev, k))
            fprintf(f, ",%s", metric_info[k].brief);
    int saturation = ev->o->metrics & (1u << CLI_METRIC_SATURATION);
    if (saturation)
        fprintf(f, ",saturation_area,saturation_alpha90,logit_quarter,logit_half");
    fputc('\n', f);
    for (uint32_t i = 0; i < ev->d->count; i++)
        for (int p = 0; p < ev->pairs; p++) {
            fprintf(f, "%u,%s,%d,%d,%s,%s", i, ev->d->names[i], ev->d->labels[i], ev->classes[i],
                    cli_method_name(ev->o->pairs[p].method),
                    egcam_combiner_name(ev->o->pairs[p].combiner));
            for (int k = 0; k < CLI_METRICS; k++)
                if (cli_metric_measured(ev, k))
                    fprintf(f, ",%.9g", *cli_value(ev, i, p, k) * metric_info[k].scale);
            if (saturation)
                fprintf(f, ",%.9g,%.9g,%.9g,%.9g", ev->saturation[i], ev->alpha90[i],
                        rescaled_logit(ev, i, (CLI_SATURATION_POINTS - 1) / 4),
                        rescaled_logit(ev, i, (CLI_SATURATION_POINTS - 1) / 2));
            fputc('\n', f);
        }
    return 0;
}

static void print_table(const cli_evaluation *ev)
{
    FILE *out = cli_out();
    fprintf(out, "%-34s", "mean ± 95%");
    for (int k = 0; k < CLI_METRICS; k++)
        if (cli_metric_measured(ev, k))
            fprintf(out, " %-18s", metric_info[k].name);
    fputc('\n', out);
    for (int p = 0; p < ev->pairs; p++) {
        char title[128];
        fprintf(out, "%-34s", pair_title(ev, p, title, sizeof title));
        for (int k = 0; k < CLI_METRICS; k++)
            if (cli_metric_measured(ev, k)) {
                char c[64];
                cell(c, sizeof c, summarise(ev, p, -1, k, NULL, 0), metric_info[k].scale);
                fprintf(out, " %-18s", c);
            }
        fputc('\n', out);
    }
}

/* Colours: a hue per estimator, lighter for each later combiner. */
static void pair_color(const cli_evaluation *ev, int p, uint8_t rgb[3])
{
    static const uint8_t hues[3][3] = {{228, 26, 28}, {77, 175, 74}, {55, 126, 184}};
    const cli_pair *pair = &ev->o->pairs[p];
    int m = pair->method == EGCAM_METHOD_GRADCAM      ? 0
            : pair->method == EGCAM_METHOD_INTEGRATED ? 1
                                                      : 2;
    int shade = p - estimator_first(ev, p);
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)(hues[m][c] + (255 - hues[m][c]) * (shade < 6 ? shade : 6) / 8);
}

static int write_plots(cli_session *s, const char *file, const char *title, egcam_panel_tile *tiles,
                       int count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->o->out_dir, file);
    egcam_image *panel = NULL;
    int rc = 0;
    if (egcam_render_panel(s->ctx, tiles, (uint32_t)count, title, &panel) != EGCAM_OK ||
        egcam_png_write(s->ctx, path, panel) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s: %s\n", path, egcam_ctx_last_error(s->ctx));
        rc = 1;
    }
    egcam_image_free(panel);
    return rc;
}

static int write_curves(cli_session *s, cli_evaluation *ev)
{
    if (!cli_metric_measured(ev, CLI_DELETION) && !cli_metric_measured(ev, CLI_INSERTION))
        return 0;
    uint32_t points = s->o->eval.steps + 1;
    const double *mean[CLI_MAX_PAIRS];
    uint8_t colors[CLI_MAX_PAIRS][3];
    egcam_image *plots[2] = {NULL, NULL};
    int rc = 0;
    for (int p = 0; p < ev->pairs; p++)
        pair_color(ev, p, colors[p]);
    for (int kind = 0; kind < 2 && !rc; kind++) {
        for (int p = 0; p < ev->pairs; p++) {
            double *sum = ev->curves[kind] + (size_t)p * points;
            for (uint32_t k = 0; k < points && ev->curve_n[p]; k++)
                sum[k] /= (double)ev->curve_n[p];
            mean[p] = sum;
        }
        rc = !(plots[kind] =
                   cli_plot(mean, (const uint8_t(*)[3])colors, ev->pairs, points, 320, 240));
    }
    egcam_panel_tile tiles[2] = {{plots[0], "deletion: score vs fraction removed", NULL},
                                 {plots[1], "insertion: score vs fraction shown", NULL}};
    if (!rc)
        rc = write_plots(s, "curves.png",
                         ev->pairs <= 3 && s->o->combiner_count == 1
                             ? "mean curves  red Grad-CAM  green Integrated  blue Expected"
                             : "mean curves  red Grad-CAM  green Integrated  blue Expected  "
                               "(lighter: later combiners)",
                         tiles, 2);
    cli_plot_free(plots[0]);
    cli_plot_free(plots[1]);
    return rc;
}

/* Mean cosine and rescaled logit along the path, for the most saturated
 * quartile and the rest. */
static int write_saturation(cli_session *s, cli_evaluation *ev)
{
    uint32_t n = ev->d->count, P = CLI_SATURATION_POINTS;
    uint8_t *part = malloc(n);
    double *curves = calloc(4 * (size_t)P, sizeof *curves); /* cos top, cos rest, logit ... */
    int rc = !part || !curves;
    if (!rc) {
        split_quartile(ev, part);
        uint32_t count[2] = {0, 0};
        for (uint32_t i = 0; i < n; i++) {
            const double *c = ev->path_curves + (size_t)i * 2 * P;
            int g = !part[i];
            count[g]++;
            for (uint32_t j = 0; j < P; j++) {
                curves[g * P + j] += c[j] > 0 ? c[j] : 0;
                double r = rescaled_logit(ev, i, j);
                curves[(2 + g) * P + j] += r < 0 ? 0 : r > 1 ? 1 : r;
            }
        }
        for (int g = 0; g < 4; g++)
            for (uint32_t j = 0; j < P; j++)
                curves[g * P + j] /= count[g % 2] ? count[g % 2] : 1;
        static const uint8_t colors[2][3] = {{228, 26, 28}, {120, 120, 120}};
        const double *cos_series[2] = {curves, curves + P};
        const double *logit_series[2] = {curves + 2 * P, curves + 3 * P};
        egcam_image *plots[2] = {cli_plot(cos_series, colors, 2, P, 320, 240),
                                 cli_plot(logit_series, colors, 2, P, 320, 240)};
        egcam_panel_tile tiles[2] = {{plots[0], "cos(A(a x), A(x)) vs a", NULL},
                                     {plots[1], "logit, 0 at a = 0 and 1 at x, vs a", NULL}};
        rc = !plots[0] || !plots[1] ||
             write_plots(s, "saturation.png",
                         "along a x: red the most saturated quartile, grey the rest", tiles, 2);
        cli_plot_free(plots[0]);
        cli_plot_free(plots[1]);
    }
    free(part);
    free(curves);
    return rc;
}

int cli_eval_report(cli_session *s, cli_evaluation *ev)
{
    const cli_options *o = s->o;
    const cli_dataset *d = ev->d;
    FILE *md = open_in(o->out_dir, "eval.md"), *csv = open_in(o->out_dir, "eval.csv");
    FILE *paired = open_in(o->out_dir, "eval-paired.csv");
    FILE *images = open_in(o->out_dir, "eval-images.csv");
    int rc = !md || !csv || !paired || !images;
    if (!rc) {
        fprintf(md,
                "Model `%s`, layer `%s`, %u images of `%s`%s; N = %u, M = %u, noise %g, "
                "seed %llu; %.0f s.\n\n",
                o->model, o->layer, d->count, o->data, o->canvas ? " on canvases" : "",
                o->cfg.samples, o->cfg.steps, (double)o->cfg.noise_level,
                (unsigned long long)o->cfg.seed, ev->seconds);
        if (ev->labelled)
            fprintf(md, "Top-1 accuracy on these images: %.2f%%.\n\n",
                    100.0 * (double)ev->correct / (double)ev->labelled);
        header(md, ev, "estimator, combiner");
        fprintf(csv, "metric,method,combiner,mean,ci95_low,ci95_high,n\n");
        pair_table(md, csv, ev, NULL);
        fprintf(paired, "metric,method,combiner,versus_method,versus_combiner,mean_difference,"
                        "ci95_low,ci95_high,n\n");
        char title[128];
        if (ev->pairs > 1) {
            fprintf(md,
                    "\n## Paired differences from %s\n\nThe mean of the per-image "
                    "differences (this pair minus that one) and its 95%% interval.\n\n",
                    pair_title(ev, 0, title, sizeof title));
            header(md, ev, "estimator, combiner");
            pair_table(md, paired, ev, versus_first);
        }
        int within = 0; /* an estimator whose first pair is not the first pair */
        for (int p = 1; p < ev->pairs; p++)
            within |= estimator_first(ev, p) != 0 && estimator_first(ev, p) != p;
        if (within) {
            fprintf(md, "\n## Paired differences within each estimator, from its first "
                        "combiner\n\n");
            header(md, ev, "estimator, combiner");
            pair_table(md, paired, ev, estimator_first);
        }
        if (o->metrics & (1u << CLI_METRIC_SATURATION))
            saturation_section(md, ev);
        write_images_csv(ev, images);
        print_table(ev);
    }
    int closed = (md && fclose(md)) | (csv && fclose(csv)) | (paired && fclose(paired)) |
                 (images && fclose(images));
    rc = rc || closed || write_curves(s, ev);
    if (!rc && (o->metrics & (1u << CLI_METRIC_SATURATION)))
        rc = write_saturation(s, ev);
    return rc;
}

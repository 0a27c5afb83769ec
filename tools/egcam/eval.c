/*
 * eval.c - `egcam eval`: the three methods scored on many images.
 *
 * For each image and method: explain, then measure the map with the
 * library's metrics (egcam_eval.h). Per metric and method it reports the
 * mean and a 95% interval (mean +- 1.96 standard errors, a normal
 * approximation: n is in the hundreds), as a table on stdout, eval.md and
 * eval.csv, and draws the mean deletion and insertion curves to curves.png.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>

#include "commands.h"
#include "dataset.h"
#include "options.h"
#include "plot.h"
#include "process.h"
#include "session.h"

enum { METHODS = 3 };
static const uint32_t methods[METHODS] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                          EGCAM_METHOD_EXPECTED};

enum metric {
    DELETION,
    INSERTION,
    INFIDELITY,
    SENSITIVITY,
    COMPLEXITY,
    DROP,
    INCREASE,
    POINTING,
    ENERGY,
    METRICS
};

static const struct {
    const char *name, *better;
    double scale; /* shown times this (percentages) */
} metric_info[METRICS] = {
    [DELETION] = {"Deletion AUC", "lower", 1},
    [INSERTION] = {"Insertion AUC", "higher", 1},
    [INFIDELITY] = {"Infidelity", "lower", 1},
    [SENSITIVITY] = {"Max-sensitivity", "lower", 1},
    [COMPLEXITY] = {"Complexity (entropy)", "lower", 1},
    [DROP] = {"Average drop %", "lower", 100},
    [INCREASE] = {"Increase in confidence %", "higher", 100},
    [POINTING] = {"Pointing game %", "higher", 100},
    [ENERGY] = {"Energy pointing game", "higher", 1},
};

typedef struct summary {
    double sum, squares;
    uint64_t n;
} summary;

static void add(summary *s, double v)
{
    if (isfinite(v)) {
        s->sum += v;
        s->squares += v * v;
        s->n++;
    }
}

static double mean_of(const summary *s) { return s->n ? s->sum / (double)s->n : NAN; }

static double half_width(const summary *s)
{
    if (s->n < 2)
        return NAN;
    double m = mean_of(s);
    double var = (s->squares - (double)s->n * m * m) / (double)(s->n - 1);
    return 1.96 * sqrt(var > 0 ? var : 0) / sqrt((double)s->n);
}

typedef struct evaluation {
    summary stats[METHODS][METRICS];
    double *curves[METHODS][2]; /* summed deletion / insertion curves */
    float *curve;               /* one curve, scratch */
    uint64_t curve_n[METHODS];
    uint64_t correct, labelled;
    int32_t top; /* the class the last explanation chose */
    int have_boxes;
} evaluation;

/* All metrics of one method's map for one image. */
static int score(cli_session *s, evaluation *ev, int m, const egcam_tensor *x, const uint32_t *box,
                 const egcam_image *image)
{
    egcam_config cfg;
    const egcam_refset *refs = cli_method_config(s, methods[m], &cfg);
    egcam_result *res = NULL;
    if (egcam_explain(s->ctx, s->backend, &cfg, x, refs, &res) != EGCAM_OK)
        return 1;
    uint32_t h, w;
    const float *map = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, NULL, NULL);
    int32_t cls = ev->top = egcam_result_class(res);
    const egcam_eval_options *eo = &s->o->eval;
    summary *st = ev->stats[m];
    double v;
    int increase, hit, rc = 0;
    for (uint32_t insertion = 0; insertion < 2 && !rc; insertion++) {
        rc = egcam_eval_deletion(s->ctx, s->backend, x, map, cls, insertion, eo, &v, ev->curve);
        if (!rc) {
            add(&st[insertion ? INSERTION : DELETION], v);
            for (uint32_t k = 0; k <= eo->steps; k++)
                ev->curves[m][insertion][k] += ev->curve[k];
        }
    }
    if (!rc)
        ev->curve_n[m]++;
    if (!rc && !(rc = egcam_eval_infidelity(s->ctx, s->backend, x, map, cls, eo, &v)))
        add(&st[INFIDELITY], v);
    if (!rc && !(rc = egcam_eval_sensitivity(s->ctx, s->backend, &cfg, x, refs, map, eo, &v)))
        add(&st[SENSITIVITY], v);
    if (!rc && !(rc = egcam_eval_complexity(s->ctx, map, h, w, &v)))
        add(&st[COMPLEXITY], v);
    if (!rc && !(rc = egcam_eval_confidence(s->ctx, s->backend, x, norm, cls, &v, &increase))) {
        add(&st[DROP], v);
        add(&st[INCREASE], increase);
    }
    if (!rc && box) { /* the box in map pixels, when preprocessing resized */
        uint32_t b[4] = {(uint32_t)((uint64_t)box[0] * w / image->width),
                         (uint32_t)((uint64_t)box[1] * h / image->height),
                         (uint32_t)(((uint64_t)box[2] * w + image->width - 1) / image->width),
                         (uint32_t)(((uint64_t)box[3] * h + image->height - 1) / image->height)};
        if (!(rc = egcam_eval_pointing(s->ctx, norm, h, w, b, &hit, &v))) {
            add(&st[POINTING], hit);
            add(&st[ENERGY], v);
        }
    }
    egcam_result_free(res);
    return rc;
}

static void cell(char *buf, size_t size, const summary *s, double scale)
{
    if (s->n < 2) /* no interval from fewer than two values */
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4g ± %.2g", mean_of(s) * scale, half_width(s) * scale);
}

static int write_reports(cli_session *s, evaluation *ev, const cli_dataset *d, double seconds)
{
    const cli_options *o = s->o;
    char path[4096];
    snprintf(path, sizeof path, "%s/eval.md", o->out_dir);
    FILE *md = fopen(path, "w");
    snprintf(path, sizeof path, "%s/eval.csv", o->out_dir);
    FILE *csv = fopen(path, "w");
    if (!md || !csv) {
        fprintf(stderr, "egcam: cannot write the reports to %s\n", o->out_dir);
        if (md)
            fclose(md);
        if (csv)
            fclose(csv);
        return 1;
    }
    fprintf(md,
            "Model `%s`, layer `%s`, %u images of `%s`%s; N = %u, M = %u, noise %g, "
            "seed %llu; %.0f s.\n\n",
            o->model, o->layer, d->count, o->data, o->canvas ? " on canvases" : "", o->cfg.samples,
            o->cfg.steps, (double)o->cfg.noise_level, (unsigned long long)o->cfg.seed, seconds);
    if (ev->labelled)
        fprintf(md, "Top-1 accuracy on these images: %.2f%%.\n\n",
                100.0 * (double)ev->correct / (double)ev->labelled);
    fprintf(md, "| metric (better) | Grad-CAM | Integrated Grad-CAM | Expected Grad-CAM |\n"
                "| --- | --- | --- | --- |\n");
    fprintf(csv, "metric,method,mean,ci95_low,ci95_high,n\n");
    FILE *out = cli_out();
    fprintf(out, "%-28s %-22s %-22s %-22s\n", "metric (mean ± 95%)", "Grad-CAM", "Integrated",
            "Expected");
    for (int k = 0; k < METRICS; k++) {
        if ((k == POINTING || k == ENERGY) && !ev->have_boxes)
            continue;
        double scale = metric_info[k].scale;
        fprintf(md, "| %s (%s) |", metric_info[k].name, metric_info[k].better);
        fprintf(out, "%-28s", metric_info[k].name);
        for (int m = 0; m < METHODS; m++) {
            char c[64];
            const summary *st = &ev->stats[m][k];
            cell(c, sizeof c, st, scale);
            fprintf(md, " %s |", c);
            fprintf(out, " %-22s", c);
            fprintf(csv, "%s,%s,%.9g,%.9g,%.9g,%llu\n", metric_info[k].name,
                    cli_method_name(methods[m]), mean_of(st) * scale,
                    (mean_of(st) - half_width(st)) * scale, (mean_of(st) + half_width(st)) * scale,
                    (unsigned long long)st->n);
        }
        fputc('\n', md);
        fputc('\n', out);
    }
    fclose(md);
    return fclose(csv) != 0;
}

static int write_curves(cli_session *s, evaluation *ev)
{
    static const uint8_t colors[METHODS][3] = {{228, 26, 28}, {77, 175, 74}, {55, 126, 184}};
    uint32_t points = s->o->eval.steps + 1;
    egcam_image *plots[2] = {NULL, NULL};
    int rc = 0;
    for (int kind = 0; kind < 2 && !rc; kind++) {
        const double *mean[METHODS];
        for (int m = 0; m < METHODS; m++) {
            for (uint32_t k = 0; k < points && ev->curve_n[m]; k++)
                ev->curves[m][kind][k] /= (double)ev->curve_n[m];
            mean[m] = ev->curves[m][kind];
        }
        rc = !(plots[kind] = cli_plot(mean, colors, METHODS, points, 320, 240));
    }
    egcam_image *panel = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/curves.png", s->o->out_dir);
    egcam_panel_tile tiles[2] = {{plots[0], "deletion: score vs fraction removed", NULL},
                                 {plots[1], "insertion: score vs fraction shown", NULL}};
    if (!rc && (egcam_render_panel(s->ctx, tiles, 2,
                                   "mean curves  red Grad-CAM  green Integrated  blue Expected",
                                   &panel) != EGCAM_OK ||
                egcam_png_write(s->ctx, path, panel) != EGCAM_OK)) {
        fprintf(stderr, "egcam: %s: %s\n", path, egcam_ctx_last_error(s->ctx));
        rc = 1;
    }
    egcam_image_free(panel);
    cli_plot_free(plots[0]);
    cli_plot_free(plots[1]);
    return rc;
}

int cli_eval_main(cli_options *o)
{
    cli_session s;
    cli_dataset d = {0};
    evaluation ev = {0};
    int rc = cli_session_open(&s, o);
    if (!rc)
        rc = cli_dataset_load(s.ctx, o->data, o->limit, o->canvas, o->cfg.seed, &d);
    if (!rc && d.count == 0) {
        fprintf(stderr, "egcam eval: --data %s holds no images\n", o->data);
        rc = 1;
    }
    size_t points = (size_t)o->eval.steps + 1;
    int oom = 0;
    for (int m = 0; !rc && m < METHODS; m++)
        for (int k = 0; k < 2; k++)
            oom |= !(ev.curves[m][k] = calloc(points, sizeof(double)));
    if (!rc)
        oom |= !(ev.curve = calloc(points, sizeof(float)));
    if (!rc && oom) {
        fprintf(stderr, "egcam eval: out of memory for curves of %zu points\n", points);
        rc = 1;
    }
    ev.have_boxes = d.boxes != NULL;
    double t0 = cli_now_ms();
    if (!rc)
        cli_progress_start(&s.progress, s.ctx, (int)d.count, 1000);
    for (uint32_t i = 0; !rc && i < d.count; i++) {
        cli_progress_item(&s.progress, (int)i, d.names[i]);
        egcam_tensor *x = NULL;
        if (egcam_preprocess_image(s.ctx, d.images[i], &o->pre, &x) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", d.names[i], egcam_ctx_last_error(s.ctx));
            rc = 1;
        }
        for (int m = 0; !rc && m < METHODS; m++)
            if (score(&s, &ev, m, x, d.boxes ? d.boxes[i] : NULL, d.images[i]) != 0) {
                cli_progress_done(&s.progress);
                fprintf(stderr, "egcam: %s: %s: %s\n", d.names[i], cli_method_title(methods[m]),
                        egcam_ctx_last_error(s.ctx));
                rc = 1;
            }
        if (!rc && d.labels[i] >= 0 && o->cfg.target_class < 0) { /* top-1 accuracy */
            ev.labelled++;
            ev.correct += ev.top == d.labels[i];
        }
        egcam_tensor_free(x);
    }
    cli_progress_done(&s.progress);
    double seconds = (cli_now_ms() - t0) / 1000.0;
    if (!rc)
        rc = write_reports(&s, &ev, &d, seconds) || write_curves(&s, &ev);
    if (!rc)
        fprintf(stderr, "egcam eval: %u images in %.1f s; reports in %s\n", d.count, seconds,
                o->out_dir);
    for (int m = 0; m < METHODS; m++)
        free(ev.curves[m][0]), free(ev.curves[m][1]);
    free(ev.curve);
    cli_dataset_free(&d);
    cli_session_close(&s);
    return rc;
}

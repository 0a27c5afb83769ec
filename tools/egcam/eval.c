/*
 * eval.c - `egcam eval`: (estimator, combiner) pairs scored on many images.
 *
 * For each image, each estimator of the pairs explains once; the pairs
 * that share it combine its gradient term their own way
 * (egcam_result_combine()), so the matrix of the Grad-CAM family costs
 * three explanations per image, not twenty-one. Each pair's map is then
 * measured with the library's metrics (egcam_eval.h). Every image gets
 * every pair, so the report can compare pairs image by image
 * (eval_report.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>

#include "commands.h"
#include "evaluation.h"
#include "options.h"
#include "process.h"
#include "saturation.h"

static const int metric_group[CLI_METRICS] = {
    [CLI_DELETION] = CLI_METRIC_DELETION,     [CLI_INSERTION] = CLI_METRIC_INSERTION,
    [CLI_INFIDELITY] = CLI_METRIC_INFIDELITY, [CLI_SENSITIVITY] = CLI_METRIC_SENSITIVITY,
    [CLI_COMPLEXITY] = CLI_METRIC_COMPLEXITY, [CLI_DROP] = CLI_METRIC_CONFIDENCE,
    [CLI_INCREASE] = CLI_METRIC_CONFIDENCE,   [CLI_POINTING] = CLI_METRIC_POINTING,
    [CLI_ENERGY] = CLI_METRIC_POINTING,
};

int cli_metric_measured(const cli_evaluation *ev, int k)
{
    if (!(ev->o->metrics & (1u << metric_group[k])))
        return 0;
    return metric_group[k] != CLI_METRIC_POINTING || ev->have_boxes;
}

/* The metrics of pair p's map (in res) for image i. */
static int score(cli_session *s, cli_evaluation *ev, uint32_t i, int p, const egcam_tensor *x,
                 const egcam_result *res)
{
    const cli_pair *pair = &s->o->pairs[p];
    const egcam_eval_options *eo = &s->o->eval;
    const uint32_t *box = ev->d->boxes ? ev->d->boxes[i] : NULL;
    const egcam_image *image = ev->d->images[i];
    uint32_t h, w;
    const float *map = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, NULL, NULL);
    int32_t cls = egcam_result_class(res);
    double v;
    int rc = 0;
    for (int k = CLI_DELETION; k <= CLI_INSERTION && !rc; k++) {
        if (!cli_metric_measured(ev, k))
            continue;
        uint32_t insertion = k == CLI_INSERTION;
        rc = egcam_eval_deletion(s->ctx, s->backend, x, map, cls, insertion, eo, &v, ev->curve);
        if (!rc) {
            *cli_value(ev, i, p, k) = v;
            double *sum = ev->curves[insertion] + (size_t)p * (eo->steps + 1);
            for (uint32_t j = 0; j <= eo->steps; j++)
                sum[j] += ev->curve[j];
        }
    }
    if (!rc && (cli_metric_measured(ev, CLI_DELETION) || cli_metric_measured(ev, CLI_INSERTION)))
        ev->curve_n[p]++;
    if (!rc && cli_metric_measured(ev, CLI_INFIDELITY) &&
        !(rc = egcam_eval_infidelity(s->ctx, s->backend, x, map, cls, eo, &v)))
        *cli_value(ev, i, p, CLI_INFIDELITY) = v;
    if (!rc && cli_metric_measured(ev, CLI_SENSITIVITY)) {
        /* The perturbed inputs are explained as this pair was. */
        egcam_config cfg;
        const egcam_refset *refs = cli_method_config(s, pair->method, &cfg);
        cfg.combiner = pair->combiner;
        if (!(rc = egcam_eval_sensitivity(s->ctx, s->backend, &cfg, x, refs, map, eo, &v)))
            *cli_value(ev, i, p, CLI_SENSITIVITY) = v;
    }
    if (!rc && cli_metric_measured(ev, CLI_COMPLEXITY) &&
        !(rc = egcam_eval_complexity(s->ctx, map, h, w, &v)))
        *cli_value(ev, i, p, CLI_COMPLEXITY) = v;
    int increase, hit;
    if (!rc && cli_metric_measured(ev, CLI_DROP) &&
        !(rc = egcam_eval_confidence(s->ctx, s->backend, x, norm, cls, &v, &increase))) {
        *cli_value(ev, i, p, CLI_DROP) = v;
        *cli_value(ev, i, p, CLI_INCREASE) = increase;
    }
    if (!rc && box && cli_metric_measured(ev, CLI_POINTING)) {
        /* The box in map pixels, when preprocessing resized. */
        uint32_t b[4] = {(uint32_t)((uint64_t)box[0] * w / image->width),
                         (uint32_t)((uint64_t)box[1] * h / image->height),
                         (uint32_t)(((uint64_t)box[2] * w + image->width - 1) / image->width),
                         (uint32_t)(((uint64_t)box[3] * h + image->height - 1) / image->height)};
        if (!(rc = egcam_eval_pointing(s->ctx, norm, h, w, b, &hit, &v))) {
            *cli_value(ev, i, p, CLI_POINTING) = hit;
            *cli_value(ev, i, p, CLI_ENERGY) = v;
        }
    }
    return rc;
}

/* Every pair for image i: one explanation per estimator, combined again
 * for the other pairs of that estimator. */
static int score_image(cli_session *s, cli_evaluation *ev, uint32_t i, const egcam_tensor *x)
{
    const cli_options *o = s->o;
    int done[CLI_MAX_PAIRS] = {0}, rc = 0;
    for (int first = 0; first < o->pair_count && !rc; first++) {
        if (done[first])
            continue;
        uint32_t method = o->pairs[first].method;
        egcam_config cfg;
        const egcam_refset *refs = cli_method_config(s, method, &cfg);
        cfg.combiner = o->pairs[first].combiner;
        egcam_result *base = NULL;
        if (egcam_explain(s->ctx, s->backend, &cfg, x, refs, &base) != EGCAM_OK) {
            rc = 1;
            break;
        }
        ev->classes[i] = egcam_result_class(base);
        for (int p = first; p < o->pair_count && !rc; p++) {
            if (o->pairs[p].method != method)
                continue;
            done[p] = 1;
            egcam_result *res = base;
            if (p != first &&
                egcam_result_combine(s->ctx, base, o->pairs[p].combiner, &res) != EGCAM_OK) {
                rc = 1;
                break;
            }
            rc = score(s, ev, i, p, x, res);
            if (res != base)
                egcam_result_free(res);
        }
        egcam_result_free(base);
    }
    if (!rc && (o->metrics & (1u << CLI_METRIC_SATURATION))) {
        double *cosine = ev->path_curves + (size_t)i * 2 * CLI_SATURATION_POINTS;
        double *logit = cosine + CLI_SATURATION_POINTS;
        rc = cli_saturation(s->ctx, s->backend, x, ev->classes[i], CLI_SATURATION_POINTS,
                            o->eval.batch_size, cosine, logit) != EGCAM_OK;
        if (!rc) {
            ev->saturation[i] = cli_saturation_area(cosine, CLI_SATURATION_POINTS);
            ev->alpha90[i] = cli_saturation_alpha(cosine, CLI_SATURATION_POINTS, 0.9);
        }
    }
    return rc;
}

static int allocate(cli_evaluation *ev, uint32_t images, int pairs, uint32_t points)
{
    size_t cells = (size_t)images * (size_t)pairs * CLI_METRICS;
    ev->values = malloc(cells * sizeof *ev->values);
    ev->classes = calloc(images ? images : 1, sizeof *ev->classes);
    ev->curves[0] = calloc((size_t)pairs * points, sizeof(double));
    ev->curves[1] = calloc((size_t)pairs * points, sizeof(double));
    ev->curve_n = calloc((size_t)pairs, sizeof *ev->curve_n);
    ev->curve = calloc(points, sizeof *ev->curve);
    ev->saturation = malloc((images ? images : 1) * sizeof(double));
    ev->alpha90 = malloc((images ? images : 1) * sizeof(double));
    ev->path_curves = calloc((size_t)images * 2 * CLI_SATURATION_POINTS + 1, sizeof(double));
    if (!ev->values || !ev->classes || !ev->curves[0] || !ev->curves[1] || !ev->curve_n ||
        !ev->curve || !ev->saturation || !ev->alpha90 || !ev->path_curves)
        return 1;
    for (size_t c = 0; c < cells; c++)
        ev->values[c] = NAN;
    for (uint32_t i = 0; i < images; i++)
        ev->saturation[i] = ev->alpha90[i] = NAN;
    return 0;
}

static void release(cli_evaluation *ev)
{
    free(ev->values);
    free(ev->classes);
    free(ev->curves[0]);
    free(ev->curves[1]);
    free(ev->curve_n);
    free(ev->curve);
    free(ev->saturation);
    free(ev->alpha90);
    free(ev->path_curves);
}

int cli_eval_main(cli_options *o)
{
    cli_session s;
    cli_dataset d = {0};
    cli_evaluation ev = {.o = o, .d = &d, .pairs = o->pair_count};
    int rc = cli_session_open(&s, o);
    if (!rc)
        rc = cli_dataset_load(s.ctx, o->data, o->limit, o->canvas, o->cfg.seed, o->alpha, &d);
    if (!rc && d.count == 0) {
        fprintf(stderr, "egcam eval: --data %s holds no images\n", o->data);
        rc = 1;
    }
    if (!rc && allocate(&ev, d.count, o->pair_count, o->eval.steps + 1) != 0) {
        fprintf(stderr, "egcam eval: out of memory for the values of %u images\n", d.count);
        rc = 1;
    }
    ev.have_boxes = d.boxes != NULL;
    double t0 = cli_now_ms();
    if (!rc)
        cli_progress_start(&s.progress, s.ctx, (int)d.count, 1000);
    for (uint32_t i = 0; !rc && i < d.count; i++) {
        cli_progress_item(&s.progress, (int)i, d.names[i]);
        egcam_tensor *x = NULL;
        if (egcam_preprocess_image(s.ctx, d.images[i], &o->pre, &x) != EGCAM_OK ||
            score_image(&s, &ev, i, x) != 0) {
            cli_progress_done(&s.progress);
            fprintf(stderr, "egcam: %s: %s\n", d.names[i], egcam_ctx_last_error(s.ctx));
            rc = 1;
        }
        if (!rc && d.labels[i] >= 0 && o->cfg.target_class < 0) { /* top-1 accuracy */
            ev.labelled++;
            ev.correct += ev.classes[i] == d.labels[i];
        }
        egcam_tensor_free(x);
    }
    cli_progress_done(&s.progress);
    ev.seconds = (cli_now_ms() - t0) / 1000.0;
    if (!rc)
        rc = cli_eval_report(&s, &ev);
    if (!rc)
        fprintf(stderr, "egcam eval: %u images in %.1f s; reports in %s\n", d.count, ev.seconds,
                o->out_dir);
    release(&ev);
    cli_dataset_free(&d);
    cli_session_close(&s);
    return rc;
}

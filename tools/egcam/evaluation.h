/* evaluation.h - what `egcam eval` measured, image by image and pair by
 * pair (eval.c), and how it is summed up (eval_report.c). */
#ifndef EGCAM_CLI_EVALUATION_H
#define EGCAM_CLI_EVALUATION_H

#include <stdint.h>

#include "dataset.h"
#include "session.h"

/* One number per image and pair; NaN where a metric was not measured or is
 * undefined (the complexity of an all-zero map). */
enum cli_metric {
    CLI_DELETION,
    CLI_INSERTION,
    CLI_INFIDELITY,
    CLI_SENSITIVITY,
    CLI_COMPLEXITY,
    CLI_DROP,
    CLI_INCREASE,
    CLI_POINTING,
    CLI_ENERGY,
    CLI_METRICS
};

/* Points of the saturation curves, a = 0, 1/16, ..., 1. */
enum { CLI_SATURATION_POINTS = 17 };

typedef struct cli_evaluation {
    const cli_options *o;
    const cli_dataset *d;
    int pairs;
    double *values;      /* [image][pair][metric] */
    int32_t *classes;    /* [image]: the class explained */
    double *curves[2];   /* [pair][step]: summed deletion, insertion curves */
    uint64_t *curve_n;   /* [pair] */
    float *curve;        /* one curve, scratch */
    double *saturation;  /* [image]: the area under the cosine curve */
    double *alpha90;     /* [image]: where the cosine first reaches 0.9 */
    double *path_curves; /* [image][2][point]: cosine, logit along a x */
    uint64_t correct, labelled;
    int have_boxes;
    double seconds;
} cli_evaluation;

/* Whether metric k was measured (its --metrics group, and boxes). */
int cli_metric_measured(const cli_evaluation *ev, int k);

static inline double *cli_value(const cli_evaluation *ev, uint32_t image, int pair, int metric)
{
    return &ev->values[((size_t)image * (size_t)ev->pairs + (size_t)pair) * CLI_METRICS +
                       (size_t)metric];
}

/* eval.md, eval.csv, eval-paired.csv, eval-images.csv, the table on the
 * output, curves.png and (with saturation) saturation.png. 0, or 1 after
 * printing why. */
int cli_eval_report(cli_session *s, cli_evaluation *ev);

#endif

/* options.h - the egcam program's command line, parsed. */
#ifndef EGCAM_CLI_OPTIONS_H
#define EGCAM_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include <egcam/egcam.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

/* An estimator (EGCAM_METHOD_*) and a combiner (EGCAM_COMBINER_*). */
typedef struct cli_pair {
    uint32_t method, combiner;
} cli_pair;
enum { CLI_MAX_PAIRS = 3 * 7 };
enum { CLI_MAX_TARGETS = 64 }; /* --class LIST, --top K */

/* What eval measures (--metrics). */
enum cli_metric_group {
    CLI_METRIC_DELETION,    /* deletion AUC */
    CLI_METRIC_INSERTION,   /* insertion AUC */
    CLI_METRIC_INFIDELITY,  /* infidelity */
    CLI_METRIC_SENSITIVITY, /* max-sensitivity */
    CLI_METRIC_COMPLEXITY,  /* entropy */
    CLI_METRIC_CONFIDENCE,  /* average drop, increase in confidence */
    CLI_METRIC_POINTING,    /* pointing game and its energy, with boxes */
    CLI_METRIC_SATURATION,  /* the layer along the path from zeros (saturation.c) */
    CLI_METRIC_GROUPS
};

typedef struct cli_options {
    const char *model, *layer, *out_dir, *labels, *device;
    const char *references;    /* FILE.npy or FOLDER of PNGs */
    const char *mask;          /* --mask FILE.png: a segmentation target */
    const char *baseline_file; /* --baseline FILE.npy */
    egcam_config cfg;          /* method, class, samples, steps, rule, noise,
                                     seed, batch, built-in references */
    egcam_preprocess pre;      /* --size, --mean, --std, --preset, --channels */
    egcam_torch_options torch; /* --device, --layout, --keep-layout,
                                     --prefix-tokens, --max-model-mb */
    uint32_t full_size;        /* --full-size: PNGs above CLI_MAX_UNSIZED_PIXELS too */
    uint32_t alpha;            /* --background: EGCAM_PNG_ALPHA_* */
    uint32_t threads;
    uint32_t colormap;
    float opacity;
    uint32_t input_shape[3]; /* --input-shape C,H,W (layers) */
    const char *data;        /* eval: --data */
    uint32_t limit, canvas;  /* eval: --limit K, --canvas N */
    egcam_eval_options eval; /* eval: --fill, --perturbations, --eval-steps */
    /* Which (estimator, combiner) pairs compare draws and eval scores:
     * --methods x --combiners (defaults: the three estimators, --combiner),
     * or eval's --pairs, in that order. */
    uint32_t methods[3], combiners[7];
    int method_count, combiner_count;
    cli_pair pairs[CLI_MAX_PAIRS];
    int pair_count;
    unsigned metrics; /* eval --metrics: 1 << CLI_METRIC_* */
    /* explain and compare: --class A,B,... or --top K as the targets of
     * each input (class indices, or EGCAM_TARGET_RANK(r) for --top);
     * target_count 0 for the one target of cfg.target_class. */
    int32_t targets[CLI_MAX_TARGETS];
    int target_count;
    int top;       /* the targets are --top's ranks */
    char **inputs; /* positional arguments */
    int input_count;
} cli_options;

/* Which flags a subcommand takes. */
enum cli_command { CLI_EXPLAIN, CLI_COMPARE, CLI_LAYERS, CLI_EVAL };

/* Parse argv (after the subcommand) into o. Returns 0, or 2 after printing
 * one line naming the bad flag to stderr; 1 when --help was printed. */
int cli_parse(enum cli_command cmd, int argc, char **argv, cli_options *o);

void cli_usage(enum cli_command cmd, FILE *to); /* usage.c */
const char *cli_command_name(enum cli_command cmd);

#endif

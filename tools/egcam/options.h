/* options.h - the egcam program's command line, parsed. */
#ifndef EGCAM_CLI_OPTIONS_H
#define EGCAM_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include <egcam/egcam.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

typedef struct cli_options {
    const char *model, *layer, *out_dir, *labels, *device;
    const char *references;    /* FILE.npy or FOLDER of PNGs */
    const char *baseline_file; /* --baseline FILE.npy */
    egcam_config cfg;          /* method, class, samples, steps, rule, noise,
                                     seed, batch, built-in references */
    egcam_preprocess pre;      /* --size, --mean, --std, --preset, --channels */
    egcam_torch_options torch; /* --device, --layout, --keep-layout,
                                     --prefix-tokens, --max-model-mb */
    uint32_t threads;
    uint32_t colormap;
    float opacity;
    uint32_t input_shape[3]; /* --input-shape C,H,W (layers) */
    const char *data;        /* eval: --data */
    uint32_t limit, canvas;  /* eval: --limit K, --canvas N */
    egcam_eval_options eval; /* eval: --fill, --perturbations, --eval-steps */
    char **inputs;           /* positional arguments */
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

/* inputs.h - the egcam program's INPUT arguments: PNG files, .npy tensors
 * and folders of PNGs, loaded into model inputs. */
#ifndef EGCAM_CLI_INPUTS_H
#define EGCAM_CLI_INPUTS_H

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "options.h"

typedef struct cli_input {
    char *path;           /* as found */
    char *name;           /* what its outputs are called: the file name
                             without folder and extension, unless that was
                             taken (cli_output_names) */
    egcam_image *image;   /* the PNG as read (NULL for .npy inputs) */
    egcam_tensor *tensor; /* the model input [C,H,W] */
} cli_input;

/* Expand paths (files or folders of .png, sorted) into a list of input
 * paths. A path that does not exist, or a folder without PNGs, is reported
 * on stderr, counted in *bad and skipped. Returns the count listed, or -1
 * when out of memory. */
int cli_list_inputs(char **paths, int count, char ***out, int *bad);
void cli_free_list(char **list, int count);

/* The name each input's outputs get, unique within the run: the file name
 * without folder and extension, and for a name already taken (d1/x.png,
 * d2/x.png, x.npy) that name with -2, -3, ... appended, skipping any other
 * input's own name. A renamed input is reported on stderr. NULL when out
 * of memory; free with cli_free_list(names, count). */
char **cli_output_names(char **paths, int count);

/* A PNG larger than this many pixels, given no size to resize it to, is
 * refused unless full_size is set: a model would see a 4000 x 3000 photo
 * at full resolution (Grad-CAM on ResNet-50: 20 s and 2 GB). 2048 x 2048. */
#define CLI_MAX_UNSIZED_PIXELS ((uint64_t)1 << 22)

/* Load one input: a .npy tensor as is, or a PNG read and preprocessed as
 * the options say (o->pre, o->alpha, o->full_size); its outputs are called
 * name (NULL: the file name without its extension). Returns 0, or 1 after
 * printing one line naming the file. */
int cli_load_input(egcam_ctx *ctx, const char *path, const char *name, const cli_options *o,
                   cli_input *in);
void cli_input_free(cli_input *in);

/* A [R,C,H,W] tensor from a .npy file ([C,H,W] counts as R = 1) or a
 * folder of PNGs loaded as the inputs are, in *out, viewing *storage (free()
 * it). Returns 0, or 1 after printing why. */
int cli_load_stack(egcam_ctx *ctx, const char *path, const cli_options *o, egcam_tensor *out,
                   float **storage);

#endif

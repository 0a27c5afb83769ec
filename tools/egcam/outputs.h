/* outputs.h - the files one input gets in --out: NAME + suffix, all or
 * none. */
#ifndef EGCAM_CLI_OUTPUTS_H
#define EGCAM_CLI_OUTPUTS_H

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "session.h"

/* The files one input has written so far: if a later one fails, the
 * earlier ones are removed again, so that an input gets all its outputs or
 * none. (Each file is written whole or not at all by the library.) */
typedef struct cli_outputs {
    const cli_session *s;
    const char *name;
    char *paths[4];
    int count;
} cli_outputs;

/* Write NAME + suffix: the tensor as .npy, or the image as PNG. 0, or 1
 * after printing why. */
int cli_output(cli_outputs *o, const char *suffix, const egcam_tensor *tensor,
               const egcam_image *image);
/* Done with one input: when failed, remove what it wrote. */
void cli_outputs_end(cli_outputs *o, int failed);

#endif

/* dataset.h - the images `egcam eval` scores: Fashion-MNIST IDX files (.gz),
 * localisation canvases made from them, or a folder of PNGs. */
#ifndef EGCAM_CLI_DATASET_H
#define EGCAM_CLI_DATASET_H

#include <stdint.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

typedef struct cli_dataset {
    uint32_t count;
    egcam_image **images; /* count images, 8-bit */
    int32_t *labels;      /* true class, or -1 when unknown */
    uint32_t (*boxes)[4]; /* x0, y0, x1, y1 of the object, or NULL */
    char **names;
} cli_dataset;

/* Load at most limit (0: all) items from path: an IDX images file
 * (*-images-idx3-ubyte.gz, labels from the matching *-labels-idx1-ubyte.gz),
 * a folder holding t10k-images-idx3-ubyte.gz (the test set), or a folder of
 * PNGs (labels and boxes from its boxes.csv when there is one). With
 * canvas > 0, IDX items are pasted at random places on canvas x canvas
 * canvases among fragments of other items, and their boxes kept. PNGs'
 * alpha becomes what alpha (EGCAM_PNG_ALPHA_*, --background) says. Returns
 * 0, or 1 after printing one line naming the file. */
int cli_dataset_load(egcam_ctx *ctx, const char *path, uint32_t limit, uint32_t canvas,
                     uint64_t seed, uint32_t alpha, cli_dataset *out);
void cli_dataset_free(cli_dataset *d);

#endif

/* plot.h - line plots of score curves, as 8-bit RGB pictures. */
#ifndef EGCAM_CLI_PLOT_H
#define EGCAM_CLI_PLOT_H

#include <stdint.h>

#include <egcam/egcam_image.h>

/* series curves of points values each, y in [0, 1] over x = 0..1, drawn in
 * colors[series][3] on white with axes and a light grid. The image and its
 * pixels are the caller's: free with cli_plot_free(). NULL when out of
 * memory. */
egcam_image *cli_plot(const double *const *curves, const uint8_t (*colors)[3], int series,
                      uint32_t points, uint32_t width, uint32_t height);
void cli_plot_free(egcam_image *plot);

#endif

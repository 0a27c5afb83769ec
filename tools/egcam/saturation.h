/* saturation.h - how early a layer saturates along the path from the zero
 * image to an input (the paper's Figure 2): eval's saturation metric. */
#ifndef EGCAM_CLI_SATURATION_H
#define EGCAM_CLI_SATURATION_H

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

/* For a_j = j / (points - 1), j = 0 .. points - 1 (points >= 2):
 * cosine[j] = cos(A(a_j x), A(x)) over all K*h*w activations (0 where
 * either is all zeros) and logit[j] = the logit of class cls at a_j x
 * (cls < 0: the top logit of x). Forwards in batches of `batch`. Returns
 * EGCAM_OK or the backend's status, with ctx's message. */
egcam_status cli_saturation(egcam_ctx *ctx, egcam_backend *backend, const egcam_tensor *x,
                            int32_t cls, uint32_t points, uint32_t batch, double *cosine,
                            double *logit);

/* The area under the cosine curve (trapezoids over a in [0, 1]): 1 when
 * the layer is A(x) from the first step, lower the later it gets there. */
double cli_saturation_area(const double *cosine, uint32_t points);

/* The first a at which the cosine reaches `level` (1 when it never does). */
double cli_saturation_alpha(const double *cosine, uint32_t points, double level);

#endif

/*
 * egcam_eval.h - how good is a map? Faithfulness, robustness and
 * localisation metrics, on any backend.
 *
 * Every metric takes the explained input x ([C, H, W] or [1, C, H, W],
 * finite, borrowed) and a map at the input's resolution (H x W finite
 * floats, row-major, borrowed: the EGCAM_MAP_INPUT or EGCAM_MAP_NORMALIZED
 * of an egcam_result, as each function says). "Score" means the softmax
 * probability of the class explained, p_c(z) = exp(z_c) / sum_j exp(z_j)
 * over the logits z (computed in double, stably), unless a function says
 * otherwise.
 *
 * target_class is the class the map explains, egcam_result_class() of its
 * result: a logit index >= 0 (EGCAM_E_CLASS_OUT_OF_RANGE otherwise, or when
 * the first forward pass shows the model has no such logit; a map of
 * target weights has no class to score).
 *
 * Random draws come from opts->seed through the library's own generator,
 * one stream per perturbation: equal inputs and seeds give equal numbers,
 * whatever the batch size.
 *
 * One convention for every metric: the context comes first and is required
 * (NULL gives EGCAM_E_NULL_ARGUMENT and nothing else), the status says how
 * it went, egcam_ctx_last_error() explains a failure, and outputs are
 * written only on success. A NaN output is a value, never an error: it
 * means "undefined" (the complexity or energy of an all-zero map).
 */
#ifndef EGCAM_EVAL_H
#define EGCAM_EVAL_H

#include "egcam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What removed pixels become (egcam_eval_options.fill).
 *   BLUR   a Gaussian blur of x, per channel, sigma a tenth of min(H, W)
 *          pixels, edges replicated (default)
 *   ZEROS  zeros
 *   MEAN   each channel's mean over x */
#define EGCAM_FILL_BLUR  1u
#define EGCAM_FILL_ZEROS 2u
#define EGCAM_FILL_MEAN  3u

/** Settings of the metrics. Initialise with egcam_eval_options_init(); the
 *  same ABI rules as egcam_config apply. Every field is checked by every
 *  metric that takes options, used or not: zero counts give EGCAM_E_EMPTY,
 *  an unknown fill or a negative sigma or radius EGCAM_E_INVALID_ARGUMENT,
 *  a non-finite one EGCAM_E_NON_FINITE, a wrong struct_size or non-zero
 *  reserved bytes EGCAM_E_STRUCT_SIZE. */
typedef struct egcam_eval_options {
    size_t   struct_size;
    uint32_t steps;              /* deletion/insertion: points on the curve past the
                                first (default 28); each step moves H*W/steps pixels */
    uint32_t fill;               /* EGCAM_FILL_*, default BLUR */
    uint32_t perturbations;      /* infidelity and max-sensitivity draws (default 10) */
    uint32_t batch_size;         /* inputs per backend call (default 16); the
                                explanations of max-sensitivity batch as their
                                egcam_config says */
    float    infidelity_sigma;   /* perturbation I ~ N(0, s^2) with s = this times
                                    (max(x) - min(x)); >= 0; default 0.05 */
    float    sensitivity_radius; /* max-sensitivity: x + U(-r, r) per element,
                                    in input units; >= 0; default 0.02 (Captum's) */
    uint64_t seed;               /* default 0x6567636d */
    uint8_t  reserved[32];       /* must be 0 */
} egcam_eval_options;

/** Fill the first size bytes of *opts with the defaults and set struct_size.
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, or EGCAM_E_STRUCT_SIZE when size
 *  is not a size of egcam_eval_options this library knows. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_options_init_sized(egcam_eval_options *opts,
                                                                     size_t              size);
#define egcam_eval_options_init(o) egcam_eval_options_init_sized((o), sizeof *(o))

/**
 * Deletion (insertion = 0) or insertion (insertion = 1) curve and its area
 * (Petsiuk et al. 2018). Pixels are ranked by map (descending; ties by
 * position in row-major order). After k steps the first
 * n_k = floor(k * H*W / steps) ranked pixels, all channels at once, are
 * removed from x (replaced by the fill) for deletion, or revealed on the
 * fill (set to x) for insertion; so deletion starts at x and ends at the
 * fill, insertion the other way round. curve[k] is the score after k steps,
 * k = 0..steps; the area is the trapezoid rule over fractions k/steps in
 * [0, 1]. Lower deletion and higher insertion areas mean a more faithful map.
 * Costs steps + 1 forward rows, in batches of opts->batch_size; map is
 * EGCAM_MAP_INPUT (any finite values: only their order counts).
 * @param[in]  insertion  0 or 1 (EGCAM_E_INVALID_ARGUMENT otherwise)
 * @param[out] auc    the area; required
 * @param[out] curve  steps + 1 floats, or NULL
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_deletion(egcam_ctx *ctx, egcam_backend *backend,
                                                           const egcam_tensor *input,
                                                           const float *map, int32_t target_class,
                                                           uint32_t                  insertion,
                                                           const egcam_eval_options *opts,
                                                           double *auc, float *curve);

/**
 * Infidelity (Yeh et al. 2019, as Captum's infidelity() with
 * normalize=True): with N = opts->perturbations draws I_n ~ N(0, s^2) i.i.d.
 * per element of the input, and the map broadcast over channels
 * (a_cij = map_ij),
 *     INFD = (1/N) sum_n (beta * <I_n, a> - (y(x) - y(x - I_n)))^2,
 * where y is the class logit (not the score) and
 *     beta = sum_n <I_n,a> dy_n / sum_n <I_n,a>^2,   dy_n = y(x) - y(x - I_n),
 * the least-squares scale (so the map's scale does not matter). Where
 * sum <I,a>^2 is 0 (an all-zero map), beta is 0, as Captum's safe_div makes
 * it, and INFD = (1/N) sum dy_n^2. I_n is the perturbation actually applied,
 * x - (x - I_n) after rounding x - I_n to float. Lower is better.
 * Costs N + 1 forward rows, in batches of opts->batch_size. Uses
 * EGCAM_MAP_INPUT.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_infidelity(egcam_ctx *ctx, egcam_backend *backend,
                                                             const egcam_tensor *input,
                                                             const float *map, int32_t target_class,
                                                             const egcam_eval_options *opts,
                                                             double                   *infidelity);

/**
 * Max-sensitivity (Yeh et al. 2019, as Captum's sensitivity_max() with its
 * default perturbation and norm): explain x + d_n, d_n ~ U(-r, r) i.i.d. per
 * element, n = 1..opts->perturbations, with cfg and refs, and return
 *     max_n ||M(x + d_n) - M(x)|| / ||M(x)||    (Frobenius norms),
 * with M the EGCAM_MAP_INPUT of each explanation and M(x) = map (made by
 * egcam_explain() with the same cfg and refs). Where ||M(x)|| is 0 the
 * denominator is 1, as in Captum. Lower is better.
 * The class explained is cfg's, the same for every perturbed input: a
 * target_class of -1 or another rank (EGCAM_TARGET_RANK, without
 * target_weights) is resolved once, to that class among x's logits, at the
 * cost of one more forward row. Every explanation uses
 * cfg as it is, seed included, and reports to the progress hook as
 * egcam_explain() does. Costs `perturbations` explanations.
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_eval_sensitivity(egcam_ctx *ctx, egcam_backend *backend, const egcam_config *cfg,
                       const egcam_tensor *input, const egcam_refset *refs, const float *map,
                       const egcam_eval_options *opts, double *sensitivity);

/**
 * Complexity (Bhatt et al. 2020): the entropy -sum p log p (natural log,
 * 0 log 0 = 0) of p = map / sum(map), over h*w values >= 0. Lower is a more
 * concentrated map: 0 for one non-zero pixel, log(h*w) for a uniform map;
 * NaN for a map that sums to 0.
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT (map, complexity), EGCAM_E_EMPTY
 *         (height or width 0), EGCAM_E_INVALID_ARGUMENT (a negative value,
 *         a map too large), EGCAM_E_NON_FINITE.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_complexity(egcam_ctx *ctx, const float *map,
                                                             uint32_t height, uint32_t width,
                                                             double *complexity);

/**
 * Average drop and increase in confidence (Chattopadhyay et al. 2018): the
 * score Y on x and O on x (.) map (map broadcast over channels: use
 * EGCAM_MAP_NORMALIZED). *drop = max(0, Y - O) / Y (0 when Y underflows to
 * 0); *increase = 1 when O > Y, else 0. Averaged over images by the caller
 * (times 100 for %). Costs one forward call of 2 rows.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_confidence(egcam_ctx *ctx, egcam_backend *backend,
                                                             const egcam_tensor *input,
                                                             const float *map, int32_t target_class,
                                                             double *drop, int *increase);

/**
 * Pointing game (Zhang et al. 2016) and energy-based pointing game (Wang et
 * al. 2020) for a box {x0, y0, x1, y1} (pixels x0 <= x < x1, y0 <= y < y1):
 * *hit = 1 when the map's maximum (first in row-major order) lies in the
 * box, else 0; *energy = sum of the map in the box / sum over the map (NaN
 * when the map sums to 0). The map's values must be >= 0.
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT (map, box, hit or energy),
 *         EGCAM_E_EMPTY (height or width 0, x0 == x1 or y0 == y1),
 *         EGCAM_E_INVALID_ARGUMENT (x0 > x1, y0 > y1, x1 > width,
 *         y1 > height, a negative value, or a map too large),
 *         EGCAM_E_NON_FINITE.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_eval_pointing(egcam_ctx *ctx, const float *map,
                                                           uint32_t height, uint32_t width,
                                                           const uint32_t box[4], int *hit,
                                                           double *energy);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_EVAL_H */

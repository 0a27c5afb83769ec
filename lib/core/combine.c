/*
 * combine.c - the Grad-CAM family: how a result's gradient term R becomes a
 * map (docs/method.md, "The Grad-CAM family").
 *
 * Every estimator leaves the same three arrays in a result: R (K x h x w),
 * the attribution Phi (R itself for the path estimators, A (.) R for the
 * vanilla one) and A = A(x). A combiner is one of two kinds of data:
 *
 *   - channel weights w_k from R_k and A_k, and the map sum_k w_k A_k
 *     (Grad-CAM, Grad-CAM++, XGrad-CAM);
 *   - a value per element, summed over channels (HiResCAM, element-wise,
 *     LayerCAM, complete); these have no channel weights.
 *
 * Then ReLU, upsampling and normalisation as for Grad-CAM (maps.c). No
 * combiner calls the backend, so one explanation's passes serve them all.
 */
#include <string.h>

#include "core.h"

/* ---- channel weights ---------------------------------------------------------- */

/* GAP(R_k). The order of the sum and the division are those of every
 * earlier release, so that the default maps stay bit for bit. */
static double weight_gradcam(const double *r, const float *a, size_t area)
{
    (void)a;
    double sum = 0.0;
    for (size_t p = 0; p < area; p++)
        sum += r[p];
    return sum / (double)area;
}

/* sum_ij alpha_ij ReLU(R_ij), alpha = R^2 / (2 R^2 + (sum_ij A_ij) R^3 + eps),
 * alpha = 0 where R = 0; eps as pytorch-grad-cam's GradCAMPlusPlus. */
static double weight_gradcam_plusplus(const double *r, const float *a, size_t area)
{
    double sum_a = 0.0;
    for (size_t p = 0; p < area; p++)
        sum_a += a[p];
    double w = 0.0;
    for (size_t p = 0; p < area; p++) {
        double r2 = r[p] * r[p];
        if (r[p] > 0.0) /* ReLU(R) = 0 elsewhere, and alpha = 0 where R = 0 */
            w += r2 / (2.0 * r2 + sum_a * r2 * r[p] + 1e-6) * r[p];
    }
    return w;
}

/* sum_ij R_ij A_ij / (sum_ij A_ij + eps); eps as pytorch-grad-cam's XGradCAM. */
static double weight_xgradcam(const double *r, const float *a, size_t area)
{
    double sum_a = 0.0, sum_ra = 0.0;
    for (size_t p = 0; p < area; p++) {
        sum_a += a[p];
        sum_ra += r[p] * a[p];
    }
    return sum_ra / (sum_a + 1e-7);
}

/* ---- values per element ----------------------------------------------------------- */

static double element_hirescam(double r, double a, double phi)
{
    (void)phi;
    return r * a;
}

static double element_elementwise(double r, double a, double phi)
{
    (void)phi;
    return r * a > 0.0 ? r * a : 0.0;
}

static double element_layercam(double r, double a, double phi)
{
    (void)phi;
    return r > 0.0 ? r * a : 0.0;
}

static double element_complete(double r, double a, double phi)
{
    (void)r, (void)a;
    return phi;
}

static const struct combiner {
    uint32_t id;
    const char *name;
    double (*weight)(const double *r, const float *a, size_t area);
    double (*element)(double r, double a, double phi);
} combiners[] = {
    {EGCAM_COMBINER_GRADCAM, "gradcam", weight_gradcam, NULL},
    {EGCAM_COMBINER_GRADCAM_PLUSPLUS, "gradcam++", weight_gradcam_plusplus, NULL},
    {EGCAM_COMBINER_XGRADCAM, "xgradcam", weight_xgradcam, NULL},
    {EGCAM_COMBINER_HIRESCAM, "hirescam", NULL, element_hirescam},
    {EGCAM_COMBINER_ELEMENTWISE, "elementwise", NULL, element_elementwise},
    {EGCAM_COMBINER_LAYERCAM, "layercam", NULL, element_layercam},
    {EGCAM_COMBINER_COMPLETE, "complete", NULL, element_complete},
};
enum { COMBINER_COUNT = sizeof combiners / sizeof combiners[0] };

static const struct combiner *find(uint32_t id)
{
    if (id == 0)
        id = EGCAM_COMBINER_GRADCAM;
    for (size_t i = 0; i < COMBINER_COUNT; i++)
        if (combiners[i].id == id)
            return &combiners[i];
    return NULL;
}

const char *egcam_combiner_name(uint32_t combiner)
{
    const struct combiner *c = find(combiner);
    return c ? c->name : NULL;
}

uint32_t egcam_combiner_by_name(const char *name)
{
    for (size_t i = 0; name && i < COMBINER_COUNT; i++)
        if (strcmp(name, combiners[i].name) == 0)
            return combiners[i].id;
    return 0;
}

egcam_status egcam__check_combiner(egcam_ctx *ctx, uint32_t combiner, const char *what)
{
    if (find(combiner))
        return EGCAM_OK;
    return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                       "%s is %u; expected 0 or an EGCAM_COMBINER_* value from 1 to %u", what,
                       combiner, (unsigned)COMBINER_COUNT);
}

egcam_status egcam__combine(egcam_ctx *ctx, egcam_result *res, uint32_t combiner)
{
    const struct combiner *c = find(combiner);
    size_t area = (size_t)res->lh * res->lw;
    res->combiner = c->id;
    res->has_weights = c->weight != NULL;
    if (c->weight) {
        int finite = 1;
        for (size_t k = 0; k < res->channels; k++) {
            res->weights[k] = (float)c->weight(res->term + k * area, res->acts + k * area, area);
            finite = finite && res->weights[k] - res->weights[k] == 0.0f;
        }
        if (!finite)
            return egcam__fail(ctx, EGCAM_E_NON_FINITE,
                               "the %s channel weights are not finite: the backend returned "
                               "gradients or activations holding NaN or infinity, or they "
                               "overflowed",
                               c->name);
        for (size_t p = 0; p < area; p++) {
            double v = 0.0;
            for (size_t k = 0; k < res->channels; k++)
                v += (double)res->weights[k] * res->acts[k * area + p];
            res->signed_map[p] = (float)v;
            res->layer_map[p] = v > 0.0 ? (float)v : 0.0f;
        }
    } else {
        for (size_t p = 0; p < area; p++) {
            double v = 0.0;
            for (size_t k = 0; k < res->channels; k++) {
                size_t j = k * area + p;
                double r = res->term[j], a = res->acts[j];
                v += c->element(r, a, res->term_is_attribution ? r : r * a);
            }
            res->signed_map[p] = (float)v;
            res->layer_map[p] = v > 0.0 ? (float)v : 0.0f;
        }
    }
    /* Finite inputs can still overflow a float. */
    for (size_t p = 0; p < area; p++)
        if (res->signed_map[p] - res->signed_map[p] != 0.0f)
            return egcam__fail(ctx, EGCAM_E_NON_FINITE,
                               "the %s map overflows: it exceeds the range of float", c->name);
    egcam__result_resample(res);
    return EGCAM_OK;
}

egcam_status egcam_result_combine(egcam_ctx *ctx, const egcam_result *res, uint32_t combiner,
                                  egcam_result **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!res || !out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_result_combine: %s is NULL",
                           res ? "out" : "res");
    egcam_status st = egcam__check_combiner(ctx, combiner, "egcam_result_combine: combiner");
    if (st != EGCAM_OK)
        return st;
    egcam_result *copy = egcam__result_copy(res);
    if (!copy)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "egcam_result_combine: out of memory");
    if ((st = egcam__combine(ctx, copy, combiner)) != EGCAM_OK) {
        egcam_result_free(copy);
        return st;
    }
    *out = copy;
    return EGCAM_OK;
}

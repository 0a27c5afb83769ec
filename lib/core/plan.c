/*
 * plan.c - the three methods as sampling plans. A plan says where the
 * gradients are taken (the points z), against which reference, with which
 * weight, and whether the input is perturbed; the engine does the rest.
 *
 *   Grad-CAM             one gradient, at x itself;
 *   Integrated Grad-CAM  M gradients on the straight path from the baseline,
 *                        at the nodes of a quadrature rule, with its weights;
 *   Expected Grad-CAM    N gradients at z_n = x'_n + alpha_n (x + eps_n - x'_n)
 *                        for a random reference, point and noise, weight 1/N.
 */
#include "core.h"

egcam_status egcam__plan_make(egcam_ctx *ctx, const egcam_config *cfg, float x_min, float x_max,
                              uint32_t refs, egcam__plan *plan)
{
    *plan = (egcam__plan){.method = cfg->method, .rule = cfg->rule, .refs = refs,
                          .seed = cfg->seed};
    switch (cfg->method) {
    case EGCAM_METHOD_GRADCAM:
        plan->count = 1;
        plan->at_input = 1;
        break;
    case EGCAM_METHOD_INTEGRATED:
        if (refs != 1)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "Integrated Grad-CAM takes one baseline; the reference set has %u",
                               refs);
        plan->count = cfg->steps;
        break;
    case EGCAM_METHOD_EXPECTED:
        plan->count = cfg->samples;
        plan->sigma = (double)cfg->noise_level * ((double)x_max - (double)x_min);
        plan->noisy = plan->sigma > 0.0;
        plan->noisy_diff = plan->noisy && !(cfg->flags & EGCAM_FLAG_CLEAN_DIFFERENCE);
        break;
    default:
        return egcam__fail(ctx, EGCAM_E_INTERNAL, "plan: unknown method %u", cfg->method);
    }
    return EGCAM_OK;
}

/* Node and weight m of an M-point rule on [0, 1], as Captum defines them. */
static void quadrature(uint32_t rule, uint64_t m, uint64_t count, double *alpha, double *weight)
{
    double M = (double)count;
    switch (rule) {
    case EGCAM_RULE_LEFT:
        *alpha = (double)m / M;
        *weight = 1.0 / M;
        break;
    case EGCAM_RULE_RIGHT:
        *alpha = (double)(m + 1) / M;
        *weight = 1.0 / M;
        break;
    case EGCAM_RULE_TRAPEZOID: /* count >= 2, checked with the config */
        *alpha = (double)m / (M - 1.0);
        *weight = (m == 0 || m + 1 == count ? 0.5 : 1.0) / (M - 1.0);
        break;
    default: /* EGCAM_RULE_MIDPOINT */
        *alpha = ((double)m + 0.5) / M;
        *weight = 1.0 / M;
        break;
    }
}

void egcam__plan_sample(const egcam__plan *plan, uint64_t n, egcam__sample *out)
{
    out->ref = 0;
    out->alpha = 1.0;
    out->weight = 1.0;
    switch (plan->method) {
    case EGCAM_METHOD_INTEGRATED:
        quadrature(plan->rule, n, plan->count, &out->alpha, &out->weight);
        break;
    case EGCAM_METHOD_EXPECTED:
        /* Draw order is fixed: reference, point, then the noise. */
        egcam__rng_init(&out->noise, plan->seed, EGCAM__STREAM_SAMPLE, n);
        out->ref = egcam__rng_below(&out->noise, plan->refs);
        out->alpha = egcam__rng_uniform(&out->noise);
        out->weight = 1.0 / (double)plan->count;
        break;
    default:
        break;
    }
}

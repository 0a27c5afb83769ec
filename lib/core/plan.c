/*
 * plan.c - the methods as sampling plans, and the one place that knows
 * their rules: for a config, an input and a reference set, where the
 * gradients are taken (the points z), against which references, with which
 * weights, and what it all costs. The engine runs any plan the same way.
 *
 *   Grad-CAM             one gradient, at x itself: the forward of that
 *                        point is the input's, and the gradient term is the
 *                        gradient (R = G(x), attribution A(x) (.) G(x));
 *   Integrated Grad-CAM  M gradients on the straight path from the baseline,
 *                        at the nodes of a quadrature rule, with its weights;
 *   Expected Grad-CAM    N gradients at z_n = x'_n + alpha_n (x + eps_n - x'_n)
 *                        for a random reference, point and noise, weight 1/N.
 *
 * The two path methods weigh each gradient by a difference of activations,
 * A(top) - A(ref), and their gradient term is also their attribution.
 */
#include "core.h"

/* Where the references come from, and how many there are. */
static egcam_status plan_references(egcam_ctx *ctx, const egcam_config *cfg, egcam__shape input,
                                    const egcam_backend *be, const egcam_refset *refs,
                                    egcam__plan *plan)
{
    if (cfg->method == EGCAM_METHOD_GRADCAM) { /* takes none: a set is ignored */
        plan->references = EGCAM__REFS_NONE;
        return EGCAM_OK;
    }
    if (refs) {
        if (be && refs->backend != be)
            return egcam__fail(ctx, EGCAM_E_MISUSE,
                               "the reference set was made on another backend");
        if (refs->input.c != input.c || refs->input.h != input.h || refs->input.w != input.w)
            return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                               "the references are [%zu,%zu,%zu]; the input is [%zu,%zu,%zu]",
                               refs->input.c, refs->input.h, refs->input.w, input.c, input.h,
                               input.w);
        if (cfg->references != EGCAM_REFERENCES_ZEROS)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "both a reference set and config.references = %u were given; "
                               "leave config.references at its default with a set",
                               cfg->references);
        plan->references = EGCAM__REFS_CALLER;
        plan->refs = refs;
        plan->ref_count = egcam_refset_count(refs);
    } else {
        if (cfg->references == EGCAM_REFERENCES_UNIFORM && cfg->method != EGCAM_METHOD_EXPECTED)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "EGCAM_REFERENCES_UNIFORM is for Expected Grad-CAM; Integrated "
                               "Grad-CAM takes one baseline (zeros, blur, or a set of one)");
        plan->references = EGCAM__REFS_BUILTIN;
        plan->ref_count = cfg->references == EGCAM_REFERENCES_UNIFORM ? cfg->reference_count : 1;
    }
    if (cfg->method == EGCAM_METHOD_INTEGRATED && plan->ref_count != 1)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "Integrated Grad-CAM takes one baseline; the reference set has %u",
                           plan->ref_count);
    return EGCAM_OK;
}

egcam_status egcam__plan_make(egcam_ctx *ctx, const egcam_config *cfg, egcam__shape input,
                              float x_min, float x_max, const egcam_backend *be,
                              const egcam_refset *refs, egcam__plan *plan)
{
    *plan = (egcam__plan){.method = cfg->method,
                          .rule = cfg->rule,
                          .seed = cfg->seed,
                          .sampling = cfg->sampling ? cfg->sampling : EGCAM_SAMPLING_INDEPENDENT};
    egcam_status st = plan_references(ctx, cfg, input, be, refs, plan);
    if (st != EGCAM_OK)
        return st;
    switch (cfg->method) {
    case EGCAM_METHOD_GRADCAM:
        plan->count = 1;
        plan->point_at_input = 1;
        break;
    case EGCAM_METHOD_INTEGRATED:
        plan->count = cfg->steps;
        plan->difference = 1;
        break;
    case EGCAM_METHOD_EXPECTED:
        plan->count = cfg->samples;
        plan->difference = 1;
        plan->sigma = (double)cfg->noise_level * ((double)x_max - (double)x_min);
        plan->noisy = plan->sigma > 0.0;
        plan->noisy_diff = plan->noisy && !(cfg->flags & EGCAM_FLAG_CLEAN_DIFFERENCE);
        break;
    default: return egcam__fail(ctx, EGCAM_E_INTERNAL, "plan: unknown method %u", cfg->method);
    }
    /* The cost in backend rows: the points (each forwarded for backward and
     * pulled back), the input's own forward unless it is a point, A(x+eps)
     * per noisy sample, and the built-in references made for the call. */
    plan->reference_rows = plan->references == EGCAM__REFS_BUILTIN ? plan->ref_count : 0;
    plan->backward_rows = plan->count;
    plan->forward_rows = plan->count + (plan->point_at_input ? 0 : 1) +
                         (plan->noisy_diff ? plan->count : 0) + plan->reference_rows;
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

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The reference of sample n in balanced rounds: round n / R takes every
 * reference once, in the order of a random affine bijection of [0, R),
 * p -> (a p + b) mod R with a a unit mod R, drawn from the round's own
 * stream. Every sample's reference is uniform on its own (b is), and
 * independent of its point and noise (other streams). */
static uint32_t balanced_reference(const egcam__plan *plan, uint64_t n)
{
    uint64_t R = plan->ref_count;
    egcam__rng r;
    egcam__rng_init(&r, plan->seed, EGCAM__STREAM_ROUND, n / R);
    uint64_t b = egcam__rng_below(&r, (uint32_t)R), a = 1;
    if (R > 2)
        do
            a = 1 + egcam__rng_below(&r, (uint32_t)(R - 1));
        while (gcd(a, R) != 1);
    return (uint32_t)((a * (n % R) + b) % R);
}

void egcam__plan_sample(const egcam__plan *plan, uint64_t n, egcam__sample *out)
{
    out->ref = 0;
    out->alpha = 1.0;
    out->weight = 1.0;
    out->noise_sign = 1.0;
    switch (plan->method) {
    case EGCAM_METHOD_INTEGRATED:
        quadrature(plan->rule, n, plan->count, &out->alpha, &out->weight);
        break;
    case EGCAM_METHOD_EXPECTED:
        out->weight = 1.0 / (double)plan->count;
        if (plan->sampling == EGCAM_SAMPLING_INDEPENDENT) {
            /* Draw order is fixed: reference, point, then the noise. */
            egcam__rng_init(&out->noise, plan->seed, EGCAM__STREAM_SAMPLE, n);
            out->ref = egcam__rng_below(&out->noise, plan->ref_count);
            out->alpha = egcam__rng_uniform(&out->noise);
            break;
        }
        /* Stratified: alpha in the n-th stratum, the reference from its
         * round; the noise from a stream of its own, shared by the two
         * samples of an antithetic pair (the second negates it). */
        egcam__rng point;
        egcam__rng_init(&point, plan->seed, EGCAM__STREAM_SAMPLE, n);
        out->alpha = ((double)n + egcam__rng_uniform(&point)) / (double)plan->count;
        out->ref = balanced_reference(plan, n);
        int antithetic = plan->sampling == EGCAM_SAMPLING_ANTITHETIC;
        egcam__rng_init(&out->noise, plan->seed, EGCAM__STREAM_NOISE, antithetic ? n / 2 : n);
        out->noise_sign = antithetic && (n & 1) ? -1.0 : 1.0;
        break;
    default: break;
    }
}

egcam_status egcam_explain_cost(egcam_ctx *ctx, const egcam_config *cfg, const egcam_tensor *input,
                                const egcam_refset *refs, uint64_t *forward_rows,
                                uint64_t *backward_rows, uint64_t *reference_rows)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!cfg)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain_cost: cfg is NULL");
    egcam_status st = egcam__check_config(ctx, cfg);
    if (st != EGCAM_OK)
        return st;
    if (!input)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain_cost: input is NULL");
    /* The shape alone (NULL data) is enough: the values only tell whether
     * the input is constant, which leaves no room for noise. */
    static const float any = 0.0f;
    egcam_tensor shape_of = *input;
    if (!shape_of.data)
        shape_of.data = &any;
    size_t count;
    egcam__shape shape;
    if ((st = egcam__check_batch(ctx, &shape_of, "the input", 1, &count, &shape)) != EGCAM_OK)
        return st;
    if (count != 1)
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                           "the input holds %zu images; an explanation takes one", count);
    float x_min = 0.0f, x_max = 1.0f;
    if (input->data)
        egcam__minmax(input->data, egcam__shape_size(shape), &x_min, &x_max);
    egcam__plan plan;
    if ((st = egcam__plan_make(ctx, cfg, shape, x_min, x_max, NULL, refs, &plan)) != EGCAM_OK)
        return st;
    if (forward_rows)
        *forward_rows = plan.forward_rows;
    if (backward_rows)
        *backward_rows = plan.backward_rows;
    if (reference_rows)
        *reference_rows = plan.reference_rows;
    return EGCAM_OK;
}

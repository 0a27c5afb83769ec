/* config.c - defaults and validation of egcam_config. */
#include <math.h>

#include "core.h"

egcam_status egcam_config_init_sized(egcam_config *cfg, size_t cfg_size)
{
    egcam_status st = egcam__versioned_init(cfg, cfg_size, sizeof *cfg);
    if (st != EGCAM_OK)
        return st;
    cfg->method = EGCAM_METHOD_EXPECTED;
    cfg->target_class = -1;
    cfg->samples = 50;
    cfg->steps = 50;
    cfg->rule = EGCAM_RULE_MIDPOINT;
    cfg->batch_size = 16;
    cfg->references = EGCAM_REFERENCES_ZEROS;
    cfg->reference_count = 16;
    cfg->noise_level = 0.1f;
    cfg->seed = 0x6567636dull; /* "egcm" */
    return EGCAM_OK;
}

egcam_status egcam__check_config(egcam_ctx *ctx, const egcam_config *cfg)
{
    egcam_status st = egcam__versioned_check(ctx, cfg, sizeof *cfg, "config", "egcam_config_init",
                                             !egcam__all_zero(cfg->reserved, sizeof cfg->reserved));
    if (st != EGCAM_OK)
        return st;
    if ((st = egcam__check_combiner(ctx, cfg->combiner, "config.combiner")) != EGCAM_OK)
        return st;
    if (cfg->method < EGCAM_METHOD_GRADCAM || cfg->method > EGCAM_METHOD_EXPECTED)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "config.method is %u; expected EGCAM_METHOD_GRADCAM (1), "
                           "_INTEGRATED (2) or _EXPECTED (3)",
                           cfg->method);
    if (!cfg->target_weights && cfg->target_weights_count)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT,
                           "config.target_weights is NULL but target_weights_count is %u",
                           cfg->target_weights_count);
    if (cfg->target_weights) {
        if (!cfg->target_weights_count)
            return egcam__fail(ctx, EGCAM_E_EMPTY, "config.target_weights_count is 0");
        st = egcam__check_finite(ctx, cfg->target_weights, cfg->target_weights_count,
                                 "config.target_weights");
        if (st != EGCAM_OK)
            return st;
    }
    if (cfg->sampling > EGCAM_SAMPLING_ANTITHETIC)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "config.sampling is %u; expected an EGCAM_SAMPLING_* value (0-3)",
                           cfg->sampling);
    if (!cfg->samples)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "config.samples is 0");
    if (!cfg->steps)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "config.steps is 0");
    if (!cfg->batch_size)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "config.batch_size is 0");
    if (!cfg->reference_count)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "config.reference_count is 0");
    if (cfg->rule < EGCAM_RULE_MIDPOINT || cfg->rule > EGCAM_RULE_TRAPEZOID)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "config.rule is %u; expected an EGCAM_RULE_* value (1-4)", cfg->rule);
    if (cfg->rule == EGCAM_RULE_TRAPEZOID && cfg->steps < 2)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "config.steps is %u; the trapezoid rule needs at least 2", cfg->steps);
    if (cfg->references < EGCAM_REFERENCES_ZEROS || cfg->references > EGCAM_REFERENCES_UNIFORM)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "config.references is %u; expected an EGCAM_REFERENCES_* value (1-3)",
                           cfg->references);
    if (cfg->flags & ~EGCAM_FLAG_CLEAN_DIFFERENCE)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "config.flags has unknown bits 0x%x",
                           cfg->flags & ~EGCAM_FLAG_CLEAN_DIFFERENCE);
    if (!isfinite(cfg->noise_level) || !isfinite(cfg->blur_sigma))
        return egcam__fail(ctx, EGCAM_E_NON_FINITE, "config.%s is not finite",
                           isfinite(cfg->noise_level) ? "blur_sigma" : "noise_level");
    if (cfg->noise_level < 0.0f)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "config.noise_level is %g; must be >= 0",
                           (double)cfg->noise_level);
    if (cfg->blur_sigma < 0.0f)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "config.blur_sigma is %g; must be >= 0",
                           (double)cfg->blur_sigma);
    return EGCAM_OK;
}

const char *egcam_sampling_name(uint32_t sampling)
{
    switch (sampling) {
    case 0:
    case EGCAM_SAMPLING_INDEPENDENT: return "independent";
    case EGCAM_SAMPLING_STRATIFIED: return "stratified";
    case EGCAM_SAMPLING_ANTITHETIC: return "antithetic";
    default: return NULL;
    }
}

/*
 * fuzz_config.c - config validation and the engine behind it: an
 * egcam_config made of fuzz bytes, given to egcam_explain() with the
 * analytic backend (tests/analytic_backend.c), a tiny pure-C model.
 *
 * Input: sizeof(egcam_config) bytes laid over egcam_config_init()'s defaults
 * (a short input keeps the defaults of the fields it does not reach), then
 * 16 control bytes, then bytes for floats.
 *
 * What the harness keeps under control, because the caller owns it and the
 * library must trust it:
 *  - struct_size: the library reads that many bytes of the config (when it
 *    is at most 4096), so the harness allocates them: past sizeof, zeros
 *    and one byte the control bytes may set;
 *  - target_weights: NULL, or target_weights_count floats of the input
 *    (a count above 64 is cut to count % 65 first, so that 0 stays
 *    possible);
 *  - samples, steps and reference_count (at most 32) and batch_size (at
 *    most 64): an explanation costs that many backend rows, and a fuzzer
 *    wants thousands of them a second.
 * Everything else (method, rule, references, flags, floats of any bit
 * pattern, seed, reserved fields) is the fuzzer's.
 *
 * Control bytes:
 *   0, 1  the byte past sizeof to set (index, value) when struct_size is larger
 *   2     bit 0: struct_size = sizeof(egcam_config), else as fuzzed;
 *         bit 1: target_weights from the input, else NULL; bit 2: the input is [1,C,H,W], else
 *         [C,H,W]; bit 3: the input does not match the model's shape;
 *         bit 4: a reference set is made and passed; bit 5: a progress hook
 *         cancels at call byte 8; bit 6: a NULL ctx
 *   3-7   the model (analytic_backend.h), small: C, h = H/s, w = W/s, s,
 *         then K (low 4 bits) and L (high 4 bits)
 *   8     after how many progress calls the hook cancels
 *   9     reference set: count (1-3) and batch size (byte / 4, 0: default)
 *   10-12 the input's C, H, W when bit 3 of byte 2 says it does not match
 *   13    the combiner a successful result is combined again with (% 9)
 *
 * On success the result must be what egcam.h promises: maps of the input's
 * and the layer's sizes, all finite, the normalised map in [0, 1], the
 * class among the logits (or -1 for target weights).
 */
#include "fuzz_common.h"

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

#include "analytic_backend.h"

#define MAX_STRUCT 4096

static int cancel_at;

static int progress(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    (void)total;
    return done >= (uint64_t)cancel_at;
}

/* v, or v % (max + 1) when above max. */
static uint32_t tame(uint32_t v, uint32_t max) { return v > max ? v % (max + 1) : v; }

/* n floats from the reader, any bit pattern. */
static float *floats(fuzz_reader *r, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (v)
        for (size_t i = 0; i < n; i++)
            v[i] = fuzz_float_bits(r);
    return v;
}

/* combiner: the one the result must have been made with. */
static void check_result(const egcam_result *res, const egcam_config *cfg, uint32_t combiner,
                         uint32_t H, uint32_t W, uint32_t K, uint32_t h, uint32_t w, uint32_t L)
{
    uint32_t mh, mw, count;
    /* The four combiners that work element by element have no channel
     * weights. */
    FUZZ_CHECK(egcam_result_combiner(res) == combiner);
    const float *weights = egcam_result_weights(res, &count);
    if (combiner >= EGCAM_COMBINER_HIRESCAM) {
        FUZZ_CHECK(!weights && count == 0);
    } else {
        FUZZ_CHECK(weights && count == K);
        for (uint32_t k = 0; k < K; k++)
            FUZZ_CHECK(isfinite(weights[k]));
    }
    const float *signed_map = egcam_result_map(res, EGCAM_MAP_SIGNED, &mh, &mw);
    FUZZ_CHECK(signed_map && mh == h && mw == w);
    for (size_t i = 0; i < (size_t)h * w; i++)
        FUZZ_CHECK(isfinite(signed_map[i]));
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &mh, &mw);
    FUZZ_CHECK(layer && mh == h && mw == w);
    for (size_t i = 0; i < (size_t)h * w; i++)
        FUZZ_CHECK(isfinite(layer[i]) && layer[i] == fmaxf(signed_map[i], 0.0f));
    const float *input = egcam_result_map(res, EGCAM_MAP_INPUT, &mh, &mw);
    FUZZ_CHECK(input && mh == H && mw == W);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &mh, &mw);
    FUZZ_CHECK(norm && mh == H && mw == W);
    for (size_t i = 0; i < (size_t)H * W; i++) {
        FUZZ_CHECK(isfinite(input[i]));
        FUZZ_CHECK(norm[i] >= 0.0f && norm[i] <= 1.0f);
    }
    int32_t cls = egcam_result_class(res);
    if (cfg->target_weights)
        FUZZ_CHECK(cls == -1);
    else
        FUZZ_CHECK(cls >= 0 && (uint32_t)cls < L &&
                   (cfg->target_class < 0 || cls == cfg->target_class));
    FUZZ_CHECK(isfinite(egcam_result_logit(res)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    egcam_config init;
    if (egcam_config_init(&init) != EGCAM_OK)
        abort();
    uint8_t raw[sizeof init];
    memcpy(raw, &init, sizeof raw);
    for (size_t i = 0; i < sizeof raw && r.left; i++)
        raw[i] = fuzz_u8(&r);
    uint8_t ctl[16];
    for (size_t i = 0; i < sizeof ctl; i++)
        ctl[i] = fuzz_u8(&r);

    /* The config in a block of exactly the bytes its struct_size says the
     * library may read. */
    egcam_config c;
    memcpy(&c, raw, sizeof c);
    if (ctl[2] & 1)
        c.struct_size = sizeof c;
    size_t bytes =
        c.struct_size > sizeof c && c.struct_size <= MAX_STRUCT ? c.struct_size : sizeof c;
    uint8_t *block = calloc(1, bytes);
    if (!block)
        return 0;
    if (bytes > sizeof c)
        block[sizeof c + ctl[0] % (bytes - sizeof c)] = ctl[1];

    c.samples = tame(c.samples, 32);
    c.steps = tame(c.steps, 32);
    c.reference_count = tame(c.reference_count, 32);
    c.batch_size = tame(c.batch_size, 64);
    float *weights = NULL;
    if (ctl[2] & 2) {
        c.target_weights_count = tame(c.target_weights_count, 64);
        weights = floats(&r, c.target_weights_count);
        c.target_weights = weights;
    } else {
        c.target_weights = NULL; /* the count stays as fuzzed */
    }
    memcpy(block, &c, sizeof c);
    const egcam_config *cfg = (const egcam_config *)(const void *)block;

    /* The model and an input of its shape (or not). */
    uint32_t C = 1 + ctl[3] % 3, s = 1 + ctl[6] % 3;
    uint32_t h = 1 + ctl[4] % 4, w = 1 + ctl[5] % 4;
    uint32_t K = 1 + ctl[7] % 4, L = 1 + (ctl[7] >> 4) % 6;
    uint32_t H = h * s, W = w * s;
    uint32_t iC = C, iH = H, iW = W;
    if (ctl[2] & 8) {
        iC = 1 + ctl[10] % 4;
        iH = 1 + ctl[11] % 12;
        iW = 1 + ctl[12] % 12;
    }
    size_t in_size = (size_t)iC * iH * iW;
    float *x = floats(&r, in_size);

    egcam_ctx *ctx = NULL;
    egcam_backend *be = NULL;
    egcam_refset *refs = NULL;
    float *ref_data = NULL;
    analytic_model *m = analytic_new(C, H, W, s, K, L, 0x5eedull + ctl[7]);
    if (!x || !m || egcam_ctx_new(&ctx) != EGCAM_OK) {
        analytic_free(m);
        goto done;
    }
    if (analytic_wrap(ctx, m, &be) != EGCAM_OK) /* frees m */
        goto done;

    if (ctl[2] & 16) {
        uint32_t R = 1 + ctl[9] % 3;
        ref_data = floats(&r, R * in_size);
        egcam_tensor t = {ref_data, {R, iC, iH, iW}, 4, 0};
        egcam_status st =
            ref_data ? egcam_refset_new(ctx, be, &t, ctl[9] >> 2, &refs) : EGCAM_E_OUT_OF_MEMORY;
        fuzz_note("config: refset of %u: %s %s", (unsigned)R, egcam_status_string(st),
                  egcam_ctx_last_error(ctx));
        if (st == EGCAM_OK)
            FUZZ_CHECK(refs && egcam_refset_count(refs) == R);
        else
            FUZZ_CHECK(!refs);
    }
    if (ctl[2] & 32) {
        cancel_at = ctl[8] % 8;
        if (egcam_ctx_set_progress(ctx, progress, NULL) != EGCAM_OK)
            goto done;
    }

    egcam_tensor input = {x, {iC, iH, iW, 0}, 3, 0};
    if (ctl[2] & 4)
        input = (egcam_tensor){x, {1, iC, iH, iW}, 4, 0};
    egcam_result *res = (egcam_result *)1; /* must be overwritten */
    egcam_status st = egcam_explain(ctl[2] & 64 ? NULL : ctx, be, cfg, &input, refs, &res);
    fuzz_note("config: method %u, refs %p: %s %s", (unsigned)cfg->method, (void *)refs,
              egcam_status_string(st), egcam_ctx_last_error(ctx));
    if (st == EGCAM_OK) {
        FUZZ_CHECK(res && !(ctl[2] & 64));
        uint32_t asked = cfg->combiner ? cfg->combiner : EGCAM_COMBINER_GRADCAM;
        check_result(res, cfg, asked, iH, iW, K, h, w, L);
        /* The same explanation combined another way (0: Grad-CAM's; 8:
         * unknown). */
        uint32_t other = ctl[13] % 9;
        egcam_result *again = (egcam_result *)1;
        egcam_status cst = egcam_result_combine(ctx, res, other, &again);
        fuzz_note("config: combined by %u: %s %s", (unsigned)other, egcam_status_string(cst),
                  egcam_ctx_last_error(ctx));
        if (cst == EGCAM_OK)
            check_result(again, cfg, other ? other : EGCAM_COMBINER_GRADCAM, iH, iW, K, h, w, L);
        else if (other == 8)
            FUZZ_CHECK(!again && cst == EGCAM_E_INVALID_ARGUMENT);
        else
            FUZZ_CHECK(!again && (cst == EGCAM_E_NON_FINITE || cst == EGCAM_E_OUT_OF_MEMORY));
        egcam_result_free(again);
        egcam_result_free(res);
    } else {
        FUZZ_CHECK(res == NULL);
        if (!(ctl[2] & 64))
            FUZZ_CHECK(egcam_ctx_last_error(ctx)[0] != '\0');
    }

done:
    egcam_refset_free(refs);
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    free(ref_data);
    free(x);
    free(weights);
    free(block);
    return 0;
}

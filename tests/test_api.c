/*
 * test_api.c - the public API's contract: versions, statuses, contexts,
 * config ABI and validation, backend ABI gate, and every kind of bad input
 * getting its own status and a message that names the problem.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analytic_backend.h"
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

enum { C = 2, H = 8, W = 8, S = 2, K = 3, L = 4 };

/* The ABI freezes these layouts (LP64): a change here is a SONAME bump. */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(egcam_tensor) == 48, "egcam_tensor layout changed");
_Static_assert(sizeof(egcam_config) == 144, "egcam_config size changed: carve new fields "
                                            "out of reserved[]");
_Static_assert(offsetof(egcam_config, seed) == 72, "egcam_config layout changed");
_Static_assert(offsetof(egcam_config, combiner) == 64, "egcam_config layout changed");
_Static_assert(offsetof(egcam_backend_ops, forward) == 16, "vtable slot moved");
_Static_assert(offsetof(egcam_backend_ops, backward) == 24, "vtable slot moved");
_Static_assert(offsetof(egcam_backend_ops, release) == 32, "vtable slot moved");
_Static_assert(offsetof(egcam_backend_ops, backward_retain) == 40, "vtable slot moved");
_Static_assert(offsetof(egcam_backend_ops, forward_flags) == 48, "vtable field moved");
#endif

typedef struct fixture {
    egcam_ctx *ctx;
    analytic_model *model;
    egcam_backend *backend;
    egcam_config cfg;
    float x[C * H * W];
    egcam_tensor input;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(egcam_ctx_new(&f->ctx), EGCAM_OK);
    f->model = analytic_new(C, H, W, S, K, L, 7);
    assert_int_equal(analytic_wrap(f->ctx, f->model, &f->backend), EGCAM_OK);
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    analytic_fill_uniform(f->x, C * H * W, 3, -1.0f, 1.0f);
    f->input = (egcam_tensor){f->x, {C, H, W}, 3, 0};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    egcam_backend_free(f->backend);
    egcam_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Explain with f's settings; on failure check that out was cleared and the
 * message mentions `needle`. */
static egcam_status explain_expecting(fixture *f, const egcam_tensor *input,
                                      const egcam_refset *refs, const char *needle)
{
    egcam_result *res = (egcam_result *)&res; /* junk: must be overwritten */
    egcam_status st = egcam_explain(f->ctx, f->backend, &f->cfg, input, refs, &res);
    if (st == EGCAM_OK) {
        egcam_result_free(res);
        return st;
    }
    assert_null(res);
    const char *msg = egcam_ctx_last_error(f->ctx);
    if (!needle || !strstr(msg, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", msg, needle ? needle : "(null)");
    return st;
}

static void test_versions(void **state)
{
    (void)state;
    assert_int_equal(egcam_version_number(), EGCAM_VERSION_NUMBER);
    assert_string_equal(egcam_version_string(), EGCAM_VERSION_STRING);
    assert_true(EGCAM_VERSION_NUMBER ==
                EGCAM_VERSION_MAJOR * 10000 + EGCAM_VERSION_MINOR * 100 + EGCAM_VERSION_PATCH);
}

static void test_status_strings(void **state)
{
    (void)state;
    /* Every value is pinned in test_pinned_values. */
    for (int a = EGCAM_OK; a < EGCAM_STATUS_END; a++) {
        const char *sa = egcam_status_string((egcam_status)a);
        assert_non_null(sa);
        assert_true(strlen(sa) > 0);
        assert_string_not_equal(sa, "unknown status");
        for (int b = a + 1; b < EGCAM_STATUS_END; b++)
            assert_string_not_equal(sa, egcam_status_string((egcam_status)b));
    }
    assert_string_equal(egcam_status_string((egcam_status)999), "unknown status");
    assert_string_equal(egcam_status_string((egcam_status)-1), "unknown status");
}

/* Status values and #define constants are compiled into programs, so they
 * are part of the ABI, but DWARF (and so the abidiff check, tests/check-abi.sh)
 * does not see #define values. Renumbering one breaks every program built
 * before: each is pinned here. A new value is added here when it is added. */
static void test_pinned_values(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long long value, pinned;
    } pins[] = {
#define PIN(name, value) {#name, (long long)(name), value}
        PIN(EGCAM_OK, 0),
        PIN(EGCAM_E_NULL_ARGUMENT, 1),
        PIN(EGCAM_E_INVALID_ARGUMENT, 2),
        PIN(EGCAM_E_EMPTY, 3),
        PIN(EGCAM_E_SHAPE_MISMATCH, 4),
        PIN(EGCAM_E_NON_FINITE, 5),
        PIN(EGCAM_E_CLASS_OUT_OF_RANGE, 6),
        PIN(EGCAM_E_STRUCT_SIZE, 7),
        PIN(EGCAM_E_ABI_VERSION, 8),
        PIN(EGCAM_E_MISUSE, 9),
        PIN(EGCAM_E_OUT_OF_MEMORY, 10),
        PIN(EGCAM_E_BACKEND, 11),
        PIN(EGCAM_E_UNSUPPORTED, 12),
        PIN(EGCAM_E_IO, 13),
        PIN(EGCAM_E_FORMAT, 14),
        PIN(EGCAM_E_CANCELLED, 15),
        PIN(EGCAM_E_INTERNAL, 16),
        PIN(EGCAM_METHOD_GRADCAM, 1),
        PIN(EGCAM_METHOD_INTEGRATED, 2),
        PIN(EGCAM_METHOD_EXPECTED, 3),
        PIN(EGCAM_RULE_MIDPOINT, 1),
        PIN(EGCAM_RULE_LEFT, 2),
        PIN(EGCAM_RULE_RIGHT, 3),
        PIN(EGCAM_RULE_TRAPEZOID, 4),
        PIN(EGCAM_REFERENCES_ZEROS, 1),
        PIN(EGCAM_REFERENCES_BLUR, 2),
        PIN(EGCAM_REFERENCES_UNIFORM, 3),
        PIN(EGCAM_FLAG_CLEAN_DIFFERENCE, 1),
        PIN(EGCAM_MAP_LAYER, 1),
        PIN(EGCAM_MAP_INPUT, 2),
        PIN(EGCAM_MAP_NORMALIZED, 3),
        PIN(EGCAM_MAP_SIGNED, 4),
        PIN(EGCAM_FORWARD_FOR_BACKWARD, 1),
        PIN(EGCAM_FILL_BLUR, 1),
        PIN(EGCAM_FILL_ZEROS, 2),
        PIN(EGCAM_FILL_MEAN, 3),
        PIN(EGCAM_COLORMAP_TURBO, 1),
        PIN(EGCAM_COLORMAP_JET, 2),
        PIN(EGCAM_COLORMAP_VIRIDIS, 3),
        PIN(EGCAM_COLORMAP_INFERNO, 4),
        PIN(EGCAM_TORCH_LAYOUT_CHANNELS, 1),
        PIN(EGCAM_TORCH_LAYOUT_TOKENS, 2),
        PIN(EGCAM_TORCH_LAYOUT_CHANNELS_LAST, 3),
        PIN(EGCAM_TORCH_FLAG_KEEP_LAYOUT, 1),
        PIN(EGCAM_RESULT_ZERO_GRADIENT, 1),
        PIN(EGCAM_COMBINER_GRADCAM, 1),
        PIN(EGCAM_COMBINER_GRADCAM_PLUSPLUS, 2),
        PIN(EGCAM_COMBINER_XGRADCAM, 3),
        PIN(EGCAM_COMBINER_HIRESCAM, 4),
        PIN(EGCAM_COMBINER_ELEMENTWISE, 5),
        PIN(EGCAM_COMBINER_LAYERCAM, 6),
        PIN(EGCAM_COMBINER_COMPLETE, 7),
#undef PIN
    };
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (pins[i].value != pins[i].pinned)
            fail_msg("%s is %lld, pinned at %lld", pins[i].name, pins[i].value, pins[i].pinned);
    /* The sentinel is no value of its own: one past the last status. */
    assert_int_equal(EGCAM_STATUS_END, EGCAM_E_INTERNAL + 1);
    /* Only ever goes up, by one per appended backend slot. */
    assert_true(EGCAM_BACKEND_ABI_VERSION >= 1);
}

static void test_ctx(void **state)
{
    (void)state;
    assert_int_equal(egcam_ctx_new(NULL), EGCAM_E_NULL_ARGUMENT);
    egcam_ctx_free(NULL);
    assert_string_equal(egcam_ctx_last_error(NULL), "");
    assert_int_equal(egcam_ctx_set_progress(NULL, NULL, NULL), EGCAM_E_NULL_ARGUMENT);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_string_equal(egcam_ctx_last_error(ctx), "");
    /* What a backend's constructor uses to report its own failures. */
    assert_int_equal(egcam_ctx_set_error(ctx, EGCAM_E_IO, "model.pt: no such file"), EGCAM_E_IO);
    assert_string_equal(egcam_ctx_last_error(ctx), "model.pt: no such file");
    assert_int_equal(egcam_ctx_set_error(ctx, EGCAM_E_FORMAT, NULL), EGCAM_E_FORMAT);
    assert_string_equal(egcam_ctx_last_error(ctx), egcam_status_string(EGCAM_E_FORMAT));
    assert_int_equal(egcam_ctx_set_error(ctx, EGCAM_OK, "ignored"), EGCAM_OK);
    assert_string_equal(egcam_ctx_last_error(ctx), "");
    assert_int_equal(egcam_ctx_set_error(NULL, EGCAM_E_IO, "x"), EGCAM_E_IO);
    /* A message is one line, whatever a backend hands over (LibTorch's
     * errors come with tracebacks). */
    assert_int_equal(egcam_ctx_set_error(ctx, EGCAM_E_BACKEND,
                                         "The following operation failed\n  File \"m.py\"\r\n"
                                         "\tRuntimeError: boom\n\n"),
                     EGCAM_E_BACKEND);
    assert_string_equal(egcam_ctx_last_error(ctx),
                        "The following operation failed File \"m.py\" RuntimeError: boom");
    egcam_ctx_free(ctx);
}

static void test_config_defaults(void **state)
{
    (void)state;
    egcam_config cfg;
    memset(&cfg, 0xab, sizeof cfg);
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    assert_int_equal(cfg.struct_size, sizeof cfg);
    assert_int_equal(cfg.method, EGCAM_METHOD_EXPECTED);
    assert_int_equal(cfg.target_class, -1);
    assert_null(cfg.target_weights);
    assert_int_equal(cfg.samples, 50);
    assert_int_equal(cfg.steps, 50);
    assert_int_equal(cfg.rule, EGCAM_RULE_MIDPOINT);
    assert_int_equal(cfg.references, EGCAM_REFERENCES_ZEROS);
    assert_true(cfg.batch_size > 0);
    assert_true(cfg.noise_level == 0.1f);
    assert_int_equal(cfg.flags, 0);
    for (size_t i = 0; i < sizeof cfg.reserved; i++)
        assert_int_equal(cfg.reserved[i], 0);
    assert_int_equal(egcam_config_init_sized(NULL, sizeof cfg), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_config_init_sized(&cfg, sizeof cfg - 8), EGCAM_E_STRUCT_SIZE);
    assert_int_equal(egcam_config_init_sized(&cfg, 0), EGCAM_E_STRUCT_SIZE);
}

/* A program built against a newer header: a larger struct whose new fields
 * are zero (their default) works; a non-zero new field is refused, never
 * silently ignored. */
static void test_config_from_newer_header(void **state)
{
    fixture *f = *state;
    struct newer {
        egcam_config v1;
        uint64_t new_field;
    } newer;
    assert_int_equal(egcam_config_init_sized(&newer.v1, sizeof newer), EGCAM_OK);
    assert_int_equal(newer.v1.struct_size, sizeof newer);
    assert_int_equal(newer.new_field, 0);
    newer.v1.method = EGCAM_METHOD_GRADCAM;
    egcam_result *res = NULL;
    assert_int_equal(egcam_explain(f->ctx, f->backend, &newer.v1, &f->input, NULL, &res), EGCAM_OK);
    egcam_result_free(res);
    newer.new_field = 1;
    assert_int_equal(egcam_explain(f->ctx, f->backend, &newer.v1, &f->input, NULL, &res),
                     EGCAM_E_STRUCT_SIZE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "newer header"));
}

static void test_config_struct_size(void **state)
{
    fixture *f = *state;
    f->cfg.struct_size = 0;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "egcam_config_init"),
                     EGCAM_E_STRUCT_SIZE);
    f->cfg.struct_size = sizeof f->cfg - 16; /* an older or foreign layout */
    assert_int_equal(explain_expecting(f, &f->input, NULL, "struct_size"), EGCAM_E_STRUCT_SIZE);
    f->cfg.struct_size = (size_t)1 << 20;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "struct_size"), EGCAM_E_STRUCT_SIZE);
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.reserved[17] = 1;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "reserved"), EGCAM_E_STRUCT_SIZE);
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.sampling = EGCAM_SAMPLING_ANTITHETIC + 1; /* the field carved from reserved1 */
    assert_int_equal(explain_expecting(f, &f->input, NULL, "config.sampling is 4"),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_string_equal(egcam_sampling_name(0), "independent");
    assert_string_equal(egcam_sampling_name(EGCAM_SAMPLING_ANTITHETIC), "antithetic");
    assert_null(egcam_sampling_name(4));
}

static void test_null_arguments(void **state)
{
    fixture *f = *state;
    egcam_result *res = (egcam_result *)&res;
    assert_int_equal(egcam_explain(NULL, f->backend, &f->cfg, &f->input, NULL, &res),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, NULL),
                     EGCAM_E_NULL_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "out"));
    assert_int_equal(egcam_explain(f->ctx, NULL, &f->cfg, &f->input, NULL, &res),
                     EGCAM_E_NULL_ARGUMENT);
    assert_null(res);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "backend"));
    assert_int_equal(egcam_explain(f->ctx, f->backend, NULL, &f->input, NULL, &res),
                     EGCAM_E_NULL_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "cfg"));
    assert_int_equal(explain_expecting(f, NULL, NULL, "input"), EGCAM_E_NULL_ARGUMENT);
    egcam_tensor no_data = f->input;
    no_data.data = NULL;
    assert_int_equal(explain_expecting(f, &no_data, NULL, "NULL data"), EGCAM_E_NULL_ARGUMENT);
    f->cfg.target_weights_count = L;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target_weights"),
                     EGCAM_E_NULL_ARGUMENT);
}

static void test_bad_config_values(void **state)
{
    fixture *f = *state;
    static const struct {
        size_t offset;
        uint32_t value;
        egcam_status status;
        const char *needle;
    } cases[] = {
        {offsetof(egcam_config, method), 0, EGCAM_E_INVALID_ARGUMENT, "method"},
        {offsetof(egcam_config, method), 4, EGCAM_E_INVALID_ARGUMENT, "method"},
        {offsetof(egcam_config, samples), 0, EGCAM_E_EMPTY, "samples"},
        {offsetof(egcam_config, steps), 0, EGCAM_E_EMPTY, "steps"},
        {offsetof(egcam_config, batch_size), 0, EGCAM_E_EMPTY, "batch_size"},
        {offsetof(egcam_config, reference_count), 0, EGCAM_E_EMPTY, "reference_count"},
        {offsetof(egcam_config, rule), 0, EGCAM_E_INVALID_ARGUMENT, "rule"},
        {offsetof(egcam_config, rule), 5, EGCAM_E_INVALID_ARGUMENT, "rule"},
        {offsetof(egcam_config, references), 9, EGCAM_E_INVALID_ARGUMENT, "references"},
        {offsetof(egcam_config, flags), 0x80, EGCAM_E_INVALID_ARGUMENT, "flags"},
        {offsetof(egcam_config, combiner), 8, EGCAM_E_INVALID_ARGUMENT, "combiner"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
        memcpy((char *)&f->cfg + cases[i].offset, &cases[i].value, sizeof(uint32_t));
        assert_int_equal(explain_expecting(f, &f->input, NULL, cases[i].needle), cases[i].status);
    }
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.method = EGCAM_METHOD_INTEGRATED;
    f->cfg.rule = EGCAM_RULE_TRAPEZOID;
    f->cfg.steps = 1;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "trapezoid"), EGCAM_E_INVALID_ARGUMENT);
    f->cfg.steps = 2;
    assert_int_equal(explain_expecting(f, &f->input, NULL, NULL), EGCAM_OK);

    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.noise_level = -0.5f;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "noise_level"),
                     EGCAM_E_INVALID_ARGUMENT);
    f->cfg.noise_level = NAN;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "noise_level"), EGCAM_E_NON_FINITE);
    f->cfg.noise_level = 0.1f;
    f->cfg.blur_sigma = INFINITY;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "blur_sigma"), EGCAM_E_NON_FINITE);
    f->cfg.blur_sigma = -1.0f;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "blur_sigma"), EGCAM_E_INVALID_ARGUMENT);
}

static void test_class_out_of_range(void **state)
{
    fixture *f = *state;
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    f->cfg.target_class = EGCAM_TARGET_RANK(L); /* ranks 0..L-1 exist */
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target rank 4"),
                     EGCAM_E_CLASS_OUT_OF_RANGE);
    f->cfg.target_class = INT32_MIN;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target rank 2147483647"),
                     EGCAM_E_CLASS_OUT_OF_RANGE);
    f->cfg.target_class = L; /* the model has classes 0..L-1 */
    assert_int_equal(explain_expecting(f, &f->input, NULL, "4 logits"), EGCAM_E_CLASS_OUT_OF_RANGE);
    f->cfg.target_class = L - 1;
    assert_int_equal(explain_expecting(f, &f->input, NULL, NULL), EGCAM_OK);
}

static void test_target_weights(void **state)
{
    fixture *f = *state;
    float weights[L + 1] = {1.0f, -1.0f, 0.0f, 0.0f, 0.0f};
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    f->cfg.target_weights = weights;
    f->cfg.target_weights_count = L + 1;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target_weights"),
                     EGCAM_E_SHAPE_MISMATCH);
    f->cfg.target_weights_count = 0;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target_weights_count"), EGCAM_E_EMPTY);
    f->cfg.target_weights_count = L;
    weights[2] = NAN;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "target_weights"), EGCAM_E_NON_FINITE);
    weights[2] = 0.0f;
    assert_int_equal(explain_expecting(f, &f->input, NULL, NULL), EGCAM_OK);
}

static void test_bad_inputs(void **state)
{
    fixture *f = *state;
    egcam_tensor t = f->input;
    t.ndim = 0;
    assert_int_equal(explain_expecting(f, &t, NULL, "dimensions"), EGCAM_E_SHAPE_MISMATCH);
    t.ndim = 2;
    assert_int_equal(explain_expecting(f, &t, NULL, "dimensions"), EGCAM_E_SHAPE_MISMATCH);
    t.ndim = 5;
    assert_int_equal(explain_expecting(f, &t, NULL, "dimensions"), EGCAM_E_SHAPE_MISMATCH);
    t = (egcam_tensor){f->x, {2, C, H / 2, W}, 4, 0}; /* two images */
    assert_int_equal(explain_expecting(f, &t, NULL, "takes one"), EGCAM_E_SHAPE_MISMATCH);
    t = (egcam_tensor){f->x, {C, 0, W}, 3, 0};
    assert_int_equal(explain_expecting(f, &t, NULL, "dimension 1 is 0"), EGCAM_E_EMPTY);
    t = (egcam_tensor){f->x, {C, H, -W}, 3, 0};
    assert_int_equal(explain_expecting(f, &t, NULL, "dimension 2"), EGCAM_E_EMPTY);
    t = (egcam_tensor){f->x, {C, H, W}, 3, 1};
    assert_int_equal(explain_expecting(f, &t, NULL, "reserved"), EGCAM_E_STRUCT_SIZE);
    t = (egcam_tensor){f->x, {INT64_MAX / 2, 4, 4}, 3, 0};
    assert_int_equal(explain_expecting(f, &t, NULL, "too large"), EGCAM_E_INVALID_ARGUMENT);
    /* A shape the model rejects: the backend's own message comes through. */
    t = (egcam_tensor){f->x, {1, H, W}, 3, 0};
    assert_int_equal(explain_expecting(f, &t, NULL, "backend 'analytic'"), EGCAM_E_BACKEND);
    /* [1, C, H, W] is the same input as [C, H, W]. */
    t = (egcam_tensor){f->x, {1, C, H, W}, 4, 0};
    assert_int_equal(explain_expecting(f, &t, NULL, NULL), EGCAM_OK);

    f->x[5] = NAN;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "NaN"), EGCAM_E_NON_FINITE);
    f->x[5] = -INFINITY;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "infinity"), EGCAM_E_NON_FINITE);
}

static void test_backend_abi_gate(void **state)
{
    fixture *f = *state;
    int released = 0;
    analytic_model *m = analytic_new(C, H, W, S, K, L, 1);
    analytic_set_release_counter(m, &released);
    egcam_backend_ops ops = *analytic_ops();
    egcam_backend *be = (egcam_backend *)&be;

    ops.abi_version = EGCAM_BACKEND_ABI_VERSION + 1;
    assert_int_equal(egcam_backend_new(f->ctx, &ops, m, &be), EGCAM_E_ABI_VERSION);
    assert_null(be);
    char expected[32];
    snprintf(expected, sizeof expected, "abi_version %u", EGCAM_BACKEND_ABI_VERSION + 1);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), expected));
    ops.abi_version = 0;
    assert_int_equal(egcam_backend_new(f->ctx, &ops, m, &be), EGCAM_E_ABI_VERSION);
    ops = *analytic_ops();
    ops.struct_size = 8;
    assert_int_equal(egcam_backend_new(f->ctx, &ops, m, &be), EGCAM_E_STRUCT_SIZE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "struct_size 8"));
    ops = *analytic_ops();
    ops.backward = NULL;
    assert_int_equal(egcam_backend_new(f->ctx, &ops, m, &be), EGCAM_E_INVALID_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "backward"));
    assert_int_equal(egcam_backend_new(f->ctx, NULL, m, &be), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_backend_new(f->ctx, analytic_ops(), m, NULL), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_backend_new(NULL, &ops, m, &be), EGCAM_E_INVALID_ARGUMENT);
    assert_int_equal(released, 0); /* failures leave self with the caller */

    /* The table is copied: the caller's copy may die after the call. */
    ops = *analytic_ops();
    assert_int_equal(egcam_backend_new(f->ctx, &ops, m, &be), EGCAM_OK);
    memset(&ops, 0, sizeof ops);
    assert_string_equal(egcam_backend_name(be), "analytic");
    egcam_result *res = NULL;
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    assert_int_equal(egcam_explain(f->ctx, be, &f->cfg, &f->input, NULL, &res), EGCAM_OK);
    egcam_result_free(res);
    egcam_backend_free(be);
    assert_int_equal(released, 1);
    egcam_backend_free(NULL);
    assert_string_equal(egcam_backend_name(NULL), "");
}

/* egcam_backend_forward/backward: the backend's own numbers, with the
 * engine's checks, and misuse refused before the backend sees it. */
static void test_backend_direct_calls(void **state)
{
    fixture *f = *state;
    analytic_shape sh = analytic_get_shape(f->model);
    float xs[2 * C * H * W];
    analytic_fill_uniform(xs, 2 * C * H * W, 11, -1.0f, 1.0f);
    egcam_tensor in = {xs, {2, C, H, W}, 4, 0}, acts, logits, grad;
    float seed[2 * L] = {0};

    /* A backward before any forward is misuse, caught before the backend. */
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_E_MISUSE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "EGCAM_FORWARD_FOR_BACKWARD"));

    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, &in, 0, &acts, &logits), EGCAM_OK);
    assert_int_equal(acts.ndim, 4);
    assert_int_equal(acts.shape[0], 2);
    assert_int_equal(acts.shape[1], (int64_t)sh.K);
    assert_int_equal(logits.ndim, 2);
    assert_int_equal(logits.shape[1], L);
    size_t act_size = (size_t)(sh.K * sh.h * sh.w);
    double A[K * H * W], y[L], G[K * H * W];
    for (int n = 0; n < 2; n++) {
        analytic_activations(f->model, xs + n * C * H * W, A);
        analytic_logits(f->model, xs + n * C * H * W, y);
        for (size_t j = 0; j < act_size; j++)
            assert_float_equal(acts.data[n * act_size + j], A[j], 1e-5);
        for (int j = 0; j < L; j++)
            assert_float_equal(logits.data[n * L + j], y[j], 1e-4);
    }
    /* Backward after an inference forward is misuse, caught here. */
    seed[1] = 1.0f;
    seed[L + 2] = 1.0f;
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_E_MISUSE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "EGCAM_FORWARD_FOR_BACKWARD"));
    assert_null(grad.data);

    assert_int_equal(
        egcam_backend_forward(f->ctx, f->backend, &in, EGCAM_FORWARD_FOR_BACKWARD, &acts, &logits),
        EGCAM_OK);
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_OK);
    assert_int_equal(grad.shape[0], 2);
    for (int n = 0; n < 2; n++) {
        double one_hot[L] = {0};
        one_hot[n ? 2 : 1] = 1.0;
        analytic_gradient(f->model, xs + n * C * H * W, one_hot, G);
        for (size_t j = 0; j < act_size; j++)
            assert_float_equal(grad.data[n * act_size + j], G[j], 1e-4);
    }
    /* One backward per forward. */
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_E_MISUSE);

    /* Bad arguments. */
    assert_int_equal(egcam_backend_forward(f->ctx, NULL, &in, 0, &acts, &logits),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, NULL, 0, &acts, &logits),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, &in, 0, NULL, &logits),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, &in, 0x10, &acts, &logits),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "flags 0x10"));
    egcam_tensor three = {xs, {C, H, W}, 3, 0};
    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, &three, 0, &acts, &logits),
                     EGCAM_E_SHAPE_MISMATCH);
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, NULL, &grad),
                     EGCAM_E_NULL_ARGUMENT);
    /* A failing backend: its message comes through, nothing is pending. */
    analytic_fail_forward(f->model, 1);
    assert_int_equal(
        egcam_backend_forward(f->ctx, f->backend, &in, EGCAM_FORWARD_FOR_BACKWARD, &acts, &logits),
        EGCAM_E_BACKEND);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), ANALYTIC_FORWARD_FAILURE));
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_E_MISUSE);

    /* Nor does an explanation that fails between its own forward for
     * backward and the backward (Grad-CAM, a class the model lacks): its
     * batch is not the caller's to pull back (tests/fuzz/regressions/backend). */
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    f->cfg.target_class = L;
    egcam_result *res = (egcam_result *)&res;
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, &res),
                     EGCAM_E_CLASS_OUT_OF_RANGE);
    uint64_t backward_calls = analytic_get_counters(f->model).backward_calls;
    assert_int_equal(egcam_backend_backward(f->ctx, f->backend, seed, &grad), EGCAM_E_MISUSE);
    assert_int_equal(analytic_get_counters(f->model).backward_calls, backward_calls);
}

static void test_refset_errors(void **state)
{
    fixture *f = *state;
    float refs[2 * C * H * W] = {0};
    egcam_tensor t = {refs, {2, C, H, W}, 4, 0};
    egcam_refset *set = (egcam_refset *)&set;

    assert_int_equal(egcam_refset_new(NULL, f->backend, &t, 0, &set), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_refset_new(f->ctx, NULL, &t, 0, &set), EGCAM_E_NULL_ARGUMENT);
    assert_null(set);
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, NULL, 0, &set), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 0, NULL), EGCAM_E_NULL_ARGUMENT);
    egcam_tensor single = {refs, {C, H, W}, 3, 0};
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &single, 0, &set),
                     EGCAM_E_SHAPE_MISMATCH);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "[N,C,H,W]"));
    egcam_tensor none = {refs, {0, C, H, W}, 4, 0};
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &none, 0, &set), EGCAM_E_EMPTY);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "dimension 0 is 0"));
    egcam_tensor flagged = t;
    flagged.reserved = 1;
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &flagged, 0, &set), EGCAM_E_STRUCT_SIZE);
    assert_null(set);
    refs[3] = NAN;
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 0, &set), EGCAM_E_NON_FINITE);
    refs[3] = 0.0f;
    egcam_tensor wrong_model = {refs, {2, C, H / 2, W}, 4, 0};
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &wrong_model, 0, &set), EGCAM_E_BACKEND);
    assert_null(set);

    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 0, &set), EGCAM_OK);
    assert_int_equal(egcam_refset_count(set), 2);
    assert_int_equal(egcam_refset_count(NULL), 0);

    /* Integrated Grad-CAM takes one baseline. */
    f->cfg.method = EGCAM_METHOD_INTEGRATED;
    assert_int_equal(explain_expecting(f, &f->input, set, "one baseline"),
                     EGCAM_E_INVALID_ARGUMENT);
    f->cfg.references = EGCAM_REFERENCES_UNIFORM;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "Expected Grad-CAM"),
                     EGCAM_E_INVALID_ARGUMENT);
    /* A set and a built-in choice at once is ambiguous. */
    f->cfg.method = EGCAM_METHOD_EXPECTED;
    f->cfg.references = EGCAM_REFERENCES_BLUR;
    assert_int_equal(explain_expecting(f, &f->input, set, "both"), EGCAM_E_INVALID_ARGUMENT);
    f->cfg.references = EGCAM_REFERENCES_ZEROS;
    assert_int_equal(explain_expecting(f, &f->input, set, NULL), EGCAM_OK);

    /* A set belongs to the backend it was made on. */
    egcam_backend *other;
    assert_int_equal(analytic_wrap(f->ctx, analytic_new(C, H, W, S, K, L, 7), &other), EGCAM_OK);
    egcam_result *res = NULL;
    assert_int_equal(egcam_explain(f->ctx, other, &f->cfg, &f->input, set, &res), EGCAM_E_MISUSE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "another backend"));
    egcam_backend_free(other);

    /* References must have the input's shape. */
    float small[C * H * (W / 2)] = {0};
    egcam_tensor small_input = {small, {C, H, W / 2}, 3, 0};
    assert_int_equal(explain_expecting(f, &small_input, set, "references are [2,8,8]"),
                     EGCAM_E_SHAPE_MISMATCH);
    egcam_refset_free(set);
    egcam_refset_free(NULL);
}

static void test_result_getters_and_errors_cleared(void **state)
{
    fixture *f = *state;
    uint32_t h = 9, w = 9, count = 9;
    assert_null(egcam_result_map(NULL, EGCAM_MAP_LAYER, &h, &w));
    assert_int_equal(h, 0);
    assert_int_equal(w, 0);
    assert_null(egcam_result_weights(NULL, &count));
    assert_int_equal(count, 0);
    assert_int_equal(egcam_result_class(NULL), -1);
    egcam_result_free(NULL);

    f->cfg.samples = 0;
    egcam_result *res = NULL;
    assert_int_not_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, &res),
                         EGCAM_OK);
    assert_string_not_equal(egcam_ctx_last_error(f->ctx), "");
    f->cfg.samples = 4;
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, &res), EGCAM_OK);
    assert_string_equal(egcam_ctx_last_error(f->ctx), "");
    assert_null(egcam_result_map(res, 0, &h, &w));
    assert_null(egcam_result_map(res, 5, NULL, NULL));
    assert_non_null(egcam_result_map(res, EGCAM_MAP_LAYER, &h, &w));
    assert_int_equal(h, H / S);
    assert_int_equal(w, W / S);
    assert_non_null(egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w));
    assert_int_equal(h, H);
    assert_int_equal(w, W);
    assert_non_null(egcam_result_map(res, EGCAM_MAP_NORMALIZED, NULL, NULL));
    assert_non_null(egcam_result_weights(res, &count));
    assert_int_equal(count, K);
    egcam_result_free(res);
}

/* A result carries all the input's logits, as the model gives them, and
 * their softmax, for every method and through egcam_result_combine() and
 * egcam_explain_many(); huge logits do not overflow the softmax. */
static void test_result_logits(void **state)
{
    fixture *f = *state;
    uint32_t count = 9;
    assert_null(egcam_result_logits(NULL, &count));
    assert_int_equal(count, 0);
    count = 9;
    assert_null(egcam_result_probabilities(NULL, &count));
    assert_int_equal(count, 0);
    assert_null(egcam_result_logits(NULL, NULL));

    double y[L];
    analytic_logits(f->model, f->x, y);
    const uint32_t methods[] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                EGCAM_METHOD_EXPECTED};
    for (size_t m = 0; m < 3; m++) {
        f->cfg.method = methods[m];
        f->cfg.samples = f->cfg.steps = 4;
        f->cfg.target_class = EGCAM_TARGET_RANK(2); /* not the top: the logits are all of them */
        egcam_result *res = NULL, *other = NULL;
        assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, &res),
                         EGCAM_OK);
        assert_int_equal(egcam_result_combine(f->ctx, res, EGCAM_COMBINER_LAYERCAM, &other),
                         EGCAM_OK);
        const egcam_result *both[2] = {res, other};
        for (int r = 0; r < 2; r++) {
            const float *logits = egcam_result_logits(both[r], &count);
            assert_int_equal(count, L);
            const float *probs = egcam_result_probabilities(both[r], &count);
            assert_int_equal(count, L);
            double top = y[0], sum = 0, psum = 0;
            for (int l = 0; l < L; l++)
                top = y[l] > top ? y[l] : top;
            for (int l = 0; l < L; l++)
                sum += exp(y[l] - top);
            for (int l = 0; l < L; l++) {
                assert_float_equal(logits[l], y[l], 1e-5 * (1 + fabs(y[l])));
                assert_float_equal(probs[l], exp(y[l] - top) / sum, 1e-6);
                psum += probs[l];
            }
            assert_float_equal(psum, 1.0, 1e-6);
            int32_t cls = egcam_result_class(both[r]);
            assert_float_equal(egcam_result_logit(both[r]), logits[cls], 1e-6);
        }
        egcam_result_free(other);
        egcam_result_free(res);
    }
    /* Many inputs: each result has its own input's logits. */
    float x2[2][C * H * W];
    analytic_fill_uniform(x2[0], C * H * W, 11, -1.0f, 1.0f);
    analytic_fill_uniform(x2[1], C * H * W, 12, -1.0f, 1.0f);
    egcam_tensor inputs[2] = {{x2[0], {C, H, W}, 3, 0}, {x2[1], {C, H, W}, 3, 0}};
    egcam_result *out[2] = {NULL, NULL};
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    f->cfg.target_class = -1;
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, inputs, 2, NULL, 1, NULL, out, NULL),
        EGCAM_OK);
    for (int b = 0; b < 2; b++) {
        analytic_logits(f->model, x2[b], y);
        const float *logits = egcam_result_logits(out[b], &count);
        assert_int_equal(count, L);
        for (int l = 0; l < L; l++)
            assert_float_equal(logits[l], y[l], 1e-5 * (1 + fabs(y[l])));
        egcam_result_free(out[b]);
    }
    /* An input that makes logits of about 1e4 (the model is affine, then a
     * cubic): the softmax still sums to 1, with no NaN. */
    float big[C * H * W];
    for (size_t i = 0; i < C * H * W; i++)
        big[i] = 400.0f * f->x[i];
    egcam_tensor bin = {big, {C, H, W}, 3, 0};
    egcam_result *res = NULL;
    analytic_logits(f->model, big, y);
    double span = 0;
    for (int l = 1; l < L; l++)
        span = fmax(span, fabs(y[l] - y[0]));
    assert_true(span > 100); /* exp of it overflows float: the shift is needed */
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &bin, NULL, &res), EGCAM_OK);
    const float *probs = egcam_result_probabilities(res, &count);
    double psum = 0;
    for (uint32_t l = 0; l < count; l++) {
        assert_true(probs[l] >= 0 && probs[l] <= 1);
        psum += probs[l];
    }
    assert_float_equal(psum, 1.0, 1e-6);
    egcam_result_free(res);
}

/* egcam_tensor_new() is the core's (a program that only explains makes its
 * inputs without libegcam-image); its tensors are valid inputs, and
 * egcam_tensor_free() frees nothing else. */
static void test_tensor_ownership(void **state)
{
    fixture *f = *state;
    egcam_tensor mine = f->input;
    egcam_tensor_free(&mine); /* a caller's tensor: left alone (ASan: no bad free) */
    egcam_tensor_free(NULL);
    egcam_tensor *t = (egcam_tensor *)&t;
    assert_int_equal(egcam_tensor_new(f->ctx, (const int64_t[]){C, H, W}, 3, &t), EGCAM_OK);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[2], W);
    assert_int_equal(t->shape[3], 0);
    for (size_t i = 0; i < C * H * W; i++)
        assert_true(t->data[i] == 0.0f);
    memcpy((float *)t->data, f->x, sizeof f->x);
    egcam_tensor copy = *t;
    egcam_tensor_free(&copy); /* a copy of ours: left alone */

    egcam_result *a = NULL, *b = NULL;
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, t, NULL, &a), EGCAM_OK);
    assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, &b), EGCAM_OK);
    uint32_t h, w;
    const float *ma = egcam_result_map(a, EGCAM_MAP_LAYER, &h, &w);
    assert_memory_equal(ma, egcam_result_map(b, EGCAM_MAP_LAYER, NULL, NULL), h * w * sizeof *ma);
    egcam_result_free(a);
    egcam_result_free(b);
    egcam_tensor_free(t);

    /* Any other value in reserved is still refused. */
    f->input.reserved = 1;
    assert_int_equal(explain_expecting(f, &f->input, NULL, "reserved"), EGCAM_E_STRUCT_SIZE);

    t = (egcam_tensor *)&t;
    assert_int_equal(egcam_tensor_new(f->ctx, (const int64_t[]){2, 0}, 2, &t), EGCAM_E_EMPTY);
    assert_null(t);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "dimension 1 is 0"));
    assert_int_equal(egcam_tensor_new(f->ctx, (const int64_t[]){2}, 5, &t),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "5 dimensions"));
    assert_int_equal(egcam_tensor_new(f->ctx, (const int64_t[]){1 << 30, 1 << 30}, 2, &t),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "2^40"));
    assert_int_equal(egcam_tensor_new(f->ctx, NULL, 1, &t), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_tensor_new(f->ctx, (const int64_t[]){1}, 1, NULL),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_tensor_new(NULL, (const int64_t[]){1}, 1, &t), EGCAM_E_NULL_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_pinned_values),
        cmocka_unit_test(test_ctx),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test_setup_teardown(test_config_from_newer_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_struct_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_abi_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_direct_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refset_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_getters_and_errors_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_logits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tensor_ownership, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

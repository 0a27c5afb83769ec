// test_cpp.cpp - egcam.hpp, the C++17 wrapper: each call gives the C
// library's result (the same bits), failures come back as outcomes with the
// library's status and message or, through value(), as egcam::error; the
// handles free what they own (LeakSanitizer in asan_ubsan would say), views
// have the C sizes, explain_many keeps each image's own failure, and the
// progress hook takes any callable.
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <egcam/egcam.hpp>

extern "C" { /* cmocka's header declares its functions without C linkage */
#include <cmocka.h>

#include "analytic_backend.h"
}

namespace
{

enum { C = 2, H = 8, W = 8, S = 2, K = 3, L = 4 };

static_assert(!std::is_copy_constructible<egcam::result>::value, "handles do not copy");
static_assert(std::is_nothrow_move_constructible<egcam::result>::value, "handles move");
static_assert(!std::is_copy_constructible<egcam::context>::value, "contexts do not copy");

egcam::backend analytic(egcam::context &ctx, std::uint64_t seed)
{
    egcam_backend *b = nullptr;
    analytic_model *m = analytic_new(C, H, W, S, K, L, seed);
    assert_int_equal(analytic_wrap(ctx.get(), m, &b), EGCAM_OK);
    return egcam::backend(b);
}

std::vector<float> input(std::uint64_t seed)
{
    std::vector<float> x(C * H * W);
    analytic_fill_uniform(x.data(), x.size(), seed, -1.0f, 1.0f);
    return x;
}

// The wrapper's explanation is the C call's, bit for bit, for every method;
// the views have the C pointers and sizes.
void test_same_as_c(void **)
{
    egcam::context ctx;
    egcam::backend model = analytic(ctx, 7);
    assert_string_equal(model.name(), "analytic");
    std::vector<float> x = input(3);
    egcam_tensor raw = {x.data(), {C, H, W}, 3, 0};
    for (std::uint32_t method :
         {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED, EGCAM_METHOD_EXPECTED}) {
        egcam::config cfg;
        cfg.method = method;
        cfg.samples = cfg.steps = 8;
        egcam::result r = ctx.explain(model, cfg, egcam::tensor_view(x.data(), {C, H, W})).value();
        egcam_result *c = nullptr;
        assert_int_equal(egcam_explain(ctx.get(), model.get(), &cfg, &raw, nullptr, &c), EGCAM_OK);
        for (std::uint32_t kind :
             {EGCAM_MAP_LAYER, EGCAM_MAP_INPUT, EGCAM_MAP_NORMALIZED, EGCAM_MAP_SIGNED}) {
            std::uint32_t h = 0, w = 0;
            const float *m = egcam_result_map(c, kind, &h, &w);
            egcam::map_view v = r.map(kind);
            assert_int_equal(v.height, h);
            assert_int_equal(v.width, w);
            assert_int_equal(v.size(), std::size_t(h) * w);
            assert_memory_equal(v.data(), m, v.size() * sizeof(float));
            assert_true(v.at(h - 1, w - 1) == m[std::size_t(h) * w - 1]);
        }
        assert_int_equal(r.class_index(), egcam_result_class(c));
        assert_true(r.logit() == egcam_result_logit(c));
        assert_true(r.completeness() == egcam_result_completeness(c));
        assert_int_equal(r.weights().size(), K);
        assert_int_equal(r.logits().size(), L);
        assert_int_equal(r.probabilities().size(), L);
        assert_int_equal(r.combiner(), EGCAM_COMBINER_GRADCAM);
        egcam::result other = ctx.combine(r, EGCAM_COMBINER_LAYERCAM).value();
        assert_true(other.weights().empty()); /* LayerCAM has no channel weights */
        assert_int_equal(other.combiner(), EGCAM_COMBINER_LAYERCAM);
        egcam::cost cost = ctx.explain_cost(cfg, egcam::tensor_view(x.data(), {C, H, W})).value();
        std::uint64_t fw = 0, bw = 0, refs = 0;
        assert_int_equal(egcam_explain_cost(ctx.get(), &cfg, &raw, nullptr, &fw, &bw, &refs),
                         EGCAM_OK);
        assert_true(cost.forward_rows == fw && cost.backward_rows == bw &&
                    cost.reference_rows == refs);
        egcam_result_free(c);
    }
}

// A failure: the outcome holds the status and the message the context
// holds, and value() throws egcam::error with that status.
void test_failures(void **)
{
    egcam::context ctx;
    egcam::backend model = analytic(ctx, 7);
    std::vector<float> x = input(3);
    egcam::config cfg;
    cfg.samples = 0;
    egcam::outcome<egcam::result> r =
        ctx.explain(model, cfg, egcam::tensor_view(x.data(), {C, H, W}));
    assert_false(r.ok());
    assert_false(bool(r));
    assert_int_equal(r.status(), EGCAM_E_EMPTY);
    assert_string_equal(r.message().c_str(), ctx.last_error());
    assert_non_null(std::strstr(r.message().c_str(), "samples"));
    bool thrown = false;
    try {
        egcam::result never = std::move(r).value();
        (void)never;
    } catch (const egcam::error &e) {
        thrown = true;
        assert_int_equal(e.status(), EGCAM_E_EMPTY);
        assert_non_null(std::strstr(e.what(), "samples"));
    }
    assert_true(thrown);

    // A shape of five dimensions is the library's to refuse, not a crash.
    cfg.samples = 4;
    r = ctx.explain(model, cfg, egcam::tensor_view(x.data(), {1, 1, C, H, W}));
    assert_int_equal(r.status(), EGCAM_E_SHAPE_MISMATCH);
    assert_non_null(std::strstr(r.message().c_str(), "5 dimensions"));
    // Channels the model does not take: the backend's failure, in words;
    // then files that are not there.
    std::vector<float> wide((C + 1) * H * W, 0.5f);
    r = ctx.explain(model, cfg, egcam::tensor_view(wide.data(), {C + 1, H, W}));
    assert_int_equal(r.status(), EGCAM_E_BACKEND);
    assert_non_null(std::strstr(r.message().c_str(), "forward"));
    assert_int_equal(ctx.read_png("/nonexistent/x.png").status(), EGCAM_E_IO);
    assert_int_equal(ctx.read_npy("/nonexistent/x.npy").status(), EGCAM_E_IO);
    // A success after a failure clears the message.
    assert_true(ctx.explain(model, cfg, egcam::tensor_view(x.data(), {C, H, W})).ok());
    assert_string_equal(ctx.last_error(), "");
}

// Many images: results in order, each the single call's; a NaN image fails
// alone with its own message; a failure of the call fails the whole.
void test_explain_many(void **)
{
    egcam::context ctx;
    egcam::backend model = analytic(ctx, 7);
    std::vector<float> a = input(5), b = input(6), bad = input(7);
    bad[3] = NAN;
    egcam::config cfg;
    cfg.samples = 6;
    std::vector<egcam::tensor_view> in = {egcam::tensor_view(a.data(), {C, H, W}),
                                          egcam::tensor_view(bad.data(), {C, H, W}),
                                          egcam::tensor_view(b.data(), {C, H, W})};
    auto many = ctx.explain_many(model, cfg, in, 2);
    assert_true(many.ok());
    assert_int_equal(many->size(), 6);
    const float *images[3] = {a.data(), bad.data(), b.data()};
    for (std::size_t i = 0; i < 6; i++) {
        egcam::outcome<egcam::result> &r = (*many)[i];
        if (i / 2 == 1) {
            assert_int_equal(r.status(), EGCAM_E_NON_FINITE);
            assert_non_null(std::strstr(r.message().c_str(), "NaN"));
            continue;
        }
        egcam::config one = cfg;
        one.target_class = EGCAM_TARGET_RANK(i % 2);
        egcam::result alone =
            ctx.explain(model, one, egcam::tensor_view(images[i / 2], {C, H, W})).value();
        assert_int_equal(r->class_index(), alone.class_index());
        assert_memory_equal(r->map(EGCAM_MAP_LAYER).data(), alone.map(EGCAM_MAP_LAYER).data(),
                            alone.map(EGCAM_MAP_LAYER).size() * sizeof(float));
    }
    // Classes that are not images x targets are refused before the call.
    auto short_list = ctx.explain_many(model, cfg, in, 2, {1, 2, 3});
    assert_int_equal(short_list.status(), EGCAM_E_INVALID_ARGUMENT);
    assert_non_null(std::strstr(short_list.message().c_str(), "3 classes for 3 images of 2"));
    // A NaN noise level fails the call itself, not each image.
    egcam::config nan_noise = cfg;
    nan_noise.noise_level = NAN;
    auto nan_call = ctx.explain_many(model, nan_noise, in, 1);
    assert_int_equal(nan_call.status(), EGCAM_E_NON_FINITE);
    assert_non_null(std::strstr(nan_call.message().c_str(), "noise"));
    cfg.batch_size = 0;
    auto failed = ctx.explain_many(model, cfg, in, 1);
    assert_int_equal(failed.status(), EGCAM_E_EMPTY);
    assert_non_null(std::strstr(failed.message().c_str(), "batch_size"));
}

// Reference sets, tensors and moves: the refset is the C one's use, a
// tensor made by the library is written through data(), a moved-from
// handle is empty and its destructor frees nothing twice.
void test_handles(void **)
{
    egcam::context ctx;
    egcam::backend model = analytic(ctx, 7);
    egcam::tensor refs = ctx.make_tensor({3, C, H, W}).value();
    for (std::size_t i = 0; i < std::size_t(3 * C * H * W); i++)
        refs.data()[i] = float(i % 5) / 5.0f;
    egcam::refset set = ctx.make_refset(model, refs.view(), 2).value();
    assert_int_equal(set.count(), 3);
    std::vector<float> x = input(9);
    egcam::config cfg;
    cfg.samples = 6;
    egcam::result with =
        ctx.explain(model, cfg, egcam::tensor_view(x.data(), {C, H, W}), &set).value();
    egcam_result *c = nullptr;
    egcam_tensor raw = {x.data(), {C, H, W}, 3, 0};
    assert_int_equal(egcam_explain(ctx.get(), model.get(), &cfg, &raw, set.get(), &c), EGCAM_OK);
    assert_true(with.completeness() == egcam_result_completeness(c));
    egcam_result_free(c);
    egcam::result moved = std::move(with);
    assert_false(bool(with));
    assert_true(bool(moved));
    assert_int_equal(with.map(EGCAM_MAP_LAYER).size(), 0); /* an empty handle has empty views */
    assert_int_equal(ctx.make_tensor({0, 4}).status(), EGCAM_E_EMPTY);
    egcam::preprocess p = egcam::preprocess::imagenet();
    assert_int_equal(p.resize, 256);
    assert_int_equal(p.width, 224);
    assert_true(p.std[2] == 0.225f);
    egcam_result *raw_result = moved.release();
    assert_non_null(raw_result);
    egcam_result_free(raw_result);
}

// The progress hook takes any callable: it sees every batch, leaves the
// result bit for bit the C call's, stops the call when it returns false,
// and what it throws comes out of the call that ran it. It moves with the
// context, and release() takes it off the C context it gives away.
void test_progress(void **)
{
    egcam::context ctx;
    egcam::backend model = analytic(ctx, 7);
    std::vector<float> x = input(3);
    egcam::tensor_view in(x.data(), {C, H, W});
    egcam::config cfg;
    cfg.samples = 6;
    cfg.batch_size = 2;
    std::vector<std::uint64_t> seen;
    std::uint64_t last_total = 0;
    assert_int_equal(ctx.on_progress([&](std::uint64_t done, std::uint64_t total) {
        seen.push_back(done);
        last_total = total;
        return true;
    }),
                     EGCAM_OK);
    egcam::result r = ctx.explain(model, cfg, in).value();
    assert_true(seen.size() >= 3); /* 6 samples in batches of 2 */
    for (std::size_t i = 1; i < seen.size(); i++)
        assert_true(seen[i] > seen[i - 1]);
    assert_true(seen.back() == last_total);
    egcam_result *c = nullptr;
    egcam_tensor raw = {x.data(), {C, H, W}, 3, 0};
    assert_int_equal(egcam_explain(ctx.get(), model.get(), &cfg, &raw, nullptr, &c), EGCAM_OK);
    uint32_t h, w;
    const float *cm = egcam_result_map(c, EGCAM_MAP_LAYER, &h, &w);
    assert_memory_equal(r.map(EGCAM_MAP_LAYER).data(), cm, sizeof(float) * h * w);
    egcam_result_free(c);

    // false stops the call.
    assert_int_equal(ctx.on_progress([](std::uint64_t, std::uint64_t) { return false; }), EGCAM_OK);
    assert_int_equal(ctx.explain(model, cfg, in).status(), EGCAM_E_CANCELLED);
    egcam::tensor refs = ctx.make_tensor({3, C, H, W}).value();
    assert_int_equal(ctx.make_refset(model, refs.view(), 1).status(), EGCAM_E_CANCELLED);

    // A throw stops the call and comes out of it, in explain and in
    // explain_many; the context works on after it.
    int calls = 0;
    assert_int_equal(ctx.on_progress([&](std::uint64_t, std::uint64_t) -> bool {
        if (++calls == 2)
            throw std::length_error("enough");
        return true;
    }),
                     EGCAM_OK);
    bool thrown = false;
    try {
        egcam::outcome<egcam::result> never = ctx.explain(model, cfg, in);
        (void)never;
    } catch (const std::length_error &e) {
        thrown = std::strcmp(e.what(), "enough") == 0;
    }
    assert_true(thrown);
    assert_int_equal(calls, 2);
    calls = 0;
    thrown = false;
    try {
        auto never = ctx.explain_many(model, cfg, {in, in});
        (void)never;
    } catch (const std::length_error &) {
        thrown = true;
    }
    assert_true(thrown);
    calls = 0;
    thrown = false;
    try {
        auto never = ctx.make_refset(model, refs.view(), 1);
        (void)never;
    } catch (const std::length_error &) {
        thrown = true;
    }
    assert_true(thrown);
    assert_int_equal(ctx.on_progress(nullptr), EGCAM_OK);
    assert_true(ctx.explain(model, cfg, in).ok());
    assert_int_equal(calls, 2); /* removed: not called again */

    // A throw inside a C call made through get() only cancels it; no
    // later call of the wrapper throws it.
    calls = 0;
    assert_int_equal(ctx.on_progress([&](std::uint64_t, std::uint64_t) -> bool {
        if (++calls == 1)
            throw std::length_error("in C");
        return true;
    }),
                     EGCAM_OK);
    assert_int_equal(egcam_explain(ctx.get(), model.get(), &cfg, &raw, nullptr, &c),
                     EGCAM_E_CANCELLED);
    assert_int_equal(ctx.read_npy("/nonexistent/x.npy").status(), EGCAM_E_IO);
    assert_true(ctx.explain(model, cfg, in).ok());
    assert_true(calls > 1);

    // The hook moves with the context; release() takes it off.
    std::size_t before = seen.size();
    assert_int_equal(ctx.on_progress([&](std::uint64_t done, std::uint64_t) {
        seen.push_back(done);
        return true;
    }),
                     EGCAM_OK);
    egcam::context moved = std::move(ctx);
    assert_true(moved.explain(model, cfg, in).ok());
    assert_true(seen.size() > before);
    // Moved onto a context that has a hook of its own: that one goes.
    egcam::context other;
    int others = 0;
    assert_int_equal(other.on_progress([&](std::uint64_t, std::uint64_t) { return ++others > 0; }),
                     EGCAM_OK);
    other = std::move(moved);
    before = seen.size();
    assert_true(other.explain(model, cfg, in).ok());
    assert_true(seen.size() > before);
    assert_int_equal(others, 0);
    moved = std::move(other);
    before = seen.size();
    egcam_ctx *bare = moved.release();
    assert_int_equal(egcam_explain(bare, model.get(), &cfg, &raw, nullptr, &c), EGCAM_OK);
    egcam_result_free(c);
    assert_int_equal(seen.size(), before);
    egcam_ctx_free(bare);
}
} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_c),    cmocka_unit_test(test_failures),
        cmocka_unit_test(test_explain_many), cmocka_unit_test(test_handles),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

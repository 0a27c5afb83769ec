// test_cpp_no_exceptions.cpp - egcam.hpp with exceptions turned off
// (-fno-exceptions), as embedded and game code builds it: the wrapper
// compiles, failures come back as outcomes, and the progress hook stops a
// call by returning false.
#include <cstdio>
#include <vector>

#include <egcam/egcam.hpp>

extern "C" {
#include "analytic_backend.h"
}

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond);                      \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main()
{
    enum { C = 2, H = 8, W = 8 };
    egcam::context ctx;
    CHECK(bool(ctx));
    egcam_backend *b = nullptr;
    CHECK(analytic_wrap(ctx.get(), analytic_new(C, H, W, 2, 3, 4, 7), &b) == EGCAM_OK);
    egcam::backend model(b);
    std::vector<float> x(C * H * W);
    analytic_fill_uniform(x.data(), x.size(), 3, -1.0f, 1.0f);
    egcam::tensor_view in(x.data(), {C, H, W});
    egcam::config cfg;
    cfg.method = EGCAM_METHOD_EXPECTED;
    cfg.samples = 6;
    cfg.batch_size = 2;

    egcam::outcome<egcam::result> r = ctx.explain(model, cfg, in);
    CHECK(r.ok());
    CHECK(r->map(EGCAM_MAP_LAYER).size() > 0);
    cfg.samples = 0;
    r = ctx.explain(model, cfg, in);
    CHECK(r.status() == EGCAM_E_EMPTY && !r.message().empty());

    int calls = 0;
    CHECK(ctx.on_progress([&](std::uint64_t, std::uint64_t) { return ++calls < 2; }) == EGCAM_OK);
    cfg.samples = 6;
    r = ctx.explain(model, cfg, in);
    CHECK(r.status() == EGCAM_E_CANCELLED);
    CHECK(calls == 2);
    std::printf("ok: egcam.hpp without exceptions\n");
    return 0;
}

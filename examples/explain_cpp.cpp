// explain_cpp.cpp - libegcam from C++: the same C API, with its objects
// held by std::unique_ptr so that every path frees them, and statuses turned
// into exceptions at the caller's side of the boundary.
//
//     explain_cpp MODEL.pt LAYER INPUT.png
//
// Build against an installed libegcam:
//     c++ -std=c++17 explain_cpp.cpp $(pkg-config --cflags --libs egcam-torch) -o explain_cpp
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

namespace
{

template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Ctx = std::unique_ptr<egcam_ctx, Deleter<egcam_ctx, egcam_ctx_free>>;
using Backend = std::unique_ptr<egcam_backend, Deleter<egcam_backend, egcam_backend_free>>;
using Image = std::unique_ptr<egcam_image, Deleter<egcam_image, egcam_image_free>>;
using Tensor = std::unique_ptr<egcam_tensor, Deleter<egcam_tensor, egcam_tensor_free>>;
using Result = std::unique_ptr<egcam_result, Deleter<egcam_result, egcam_result_free>>;

void check(egcam_status st, const egcam_ctx *ctx)
{
    if (st != EGCAM_OK)
        throw std::runtime_error(std::string(egcam_status_string(st)) + ": " +
                                 egcam_ctx_last_error(ctx));
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.pt LAYER INPUT.png\n", argv[0]);
        return 2;
    }
    try {
        egcam_ctx *raw_ctx = nullptr;
        if (egcam_ctx_new(&raw_ctx) != EGCAM_OK)
            throw std::bad_alloc();
        Ctx ctx(raw_ctx);

        egcam_backend *b = nullptr;
        check(egcam_torch_open(ctx.get(), argv[1], argv[2], nullptr, &b), ctx.get());
        Backend model(b);
        egcam_image *img = nullptr;
        check(egcam_png_read(ctx.get(), argv[3], 3, &img), ctx.get());
        Image image(img);
        egcam_preprocess pre;
        check(egcam_preprocess_init(&pre), ctx.get());
        egcam_tensor *t = nullptr;
        check(egcam_preprocess_image(ctx.get(), image.get(), &pre, &t), ctx.get());
        Tensor input(t);

        const struct {
            uint32_t method;
            const char *name;
        } methods[] = {
            {EGCAM_METHOD_GRADCAM, "Grad-CAM"},
            {EGCAM_METHOD_INTEGRATED, "Integrated Grad-CAM"},
            {EGCAM_METHOD_EXPECTED, "Expected Grad-CAM"},
        };
        for (const auto &m : methods) {
            egcam_config cfg;
            check(egcam_config_init(&cfg), ctx.get());
            cfg.method = m.method;
            egcam_result *r = nullptr;
            check(egcam_explain(ctx.get(), model.get(), &cfg, input.get(), nullptr, &r), ctx.get());
            Result result(r);
            uint32_t h = 0, w = 0;
            const float *map = egcam_result_map(result.get(), EGCAM_MAP_LAYER, &h, &w);
            float peak = 0;
            for (uint32_t i = 0; i < h * w; i++)
                peak = map[i] > peak ? map[i] : peak;
            std::printf("%s: class %d, logit %.4f, completeness %.4f, peak %.4g on %ux%u\n", m.name,
                        egcam_result_class(result.get()), egcam_result_logit(result.get()),
                        egcam_result_completeness(result.get()), peak, h, w);
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "explain_cpp: %s\n", e.what());
        return 1;
    }
}

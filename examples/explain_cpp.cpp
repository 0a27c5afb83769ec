// explain_cpp.cpp - libegcam from C++ through egcam.hpp: handles that free
// themselves, calls that return their errors, maps as views. Explains one
// PNG with each of the three methods and prints what each found, then the
// model's top class.
//
//     explain_cpp MODEL.pt LAYER INPUT.png
//
// Build against an installed libegcam:
//     c++ -std=c++17 explain_cpp.cpp -o explain_cpp
//         $(pkg-config --cflags --libs egcam-torch egcam-image)
// or with CMake: find_package(egcam CONFIG COMPONENTS image torch) and
// target_link_libraries(explain_cpp PRIVATE egcam::torch egcam::image).
#include <algorithm>
#include <cstdio>
#include <exception>

#include <egcam/egcam.hpp>

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.pt LAYER INPUT.png\n", argv[0]);
        return 2;
    }
    try {
        egcam::context ctx;
        // .value() throws egcam::error (status and message) on a failure.
        egcam::backend model = egcam::backend::torch(ctx, argv[1], argv[2]).value();
        egcam::image picture = ctx.read_png(argv[3], 3).value();
        egcam::tensor input = ctx.preprocess(picture, egcam::preprocess()).value();

        const struct {
            uint32_t method;
            const char *name;
        } methods[] = {
            {EGCAM_METHOD_GRADCAM, "Grad-CAM"},
            {EGCAM_METHOD_INTEGRATED, "Integrated Grad-CAM"},
            {EGCAM_METHOD_EXPECTED, "Expected Grad-CAM"},
        };
        for (const auto &m : methods) {
            egcam::config cfg;
            cfg.method = m.method;
            // Without exceptions: test the outcome, read its message.
            egcam::outcome<egcam::result> explained = ctx.explain(model, cfg, input.view());
            if (!explained) {
                std::fprintf(stderr, "explain_cpp: %s: %s\n", m.name, explained.message().c_str());
                return 1;
            }
            const egcam::result &r = *explained;
            egcam::map_view map = r.map(EGCAM_MAP_LAYER);
            float peak = map.empty() ? 0.0f : *std::max_element(map.begin(), map.end());
            std::printf("%s: class %d, logit %.4f, completeness %.4f, peak %.4g on %ux%u\n", m.name,
                        r.class_index(), r.logit(), r.completeness(), peak, map.height, map.width);
            if (m.method == EGCAM_METHOD_GRADCAM) {
                egcam::float_view p = r.probabilities();
                auto top = std::max_element(p.begin(), p.end());
                std::printf("predicted: %d with probability %.4f\n", int(top - p.begin()), *top);
            }
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "explain_cpp: %s\n", e.what());
        return 1;
    }
}

// layout.cpp - a layer's output as [N, K, h, w], checked against the input
// (layout.hpp).
#include "layout.hpp"

#include <algorithm>
#include <cmath>

#include "failure.hpp"

namespace egcam_shim
{

namespace
{

// Some downsampling factor s maps height x width onto rows x cols, with a
// rounding of at most one either way: s in [H/(rows+1), H/(rows-1)].
bool grid_fits(int64_t rows, int64_t cols, int64_t height, int64_t width)
{
    auto low = [](int64_t in, int64_t n) { return static_cast<double>(in) / (n + 1); };
    auto high = [](int64_t in, int64_t n) {
        return n > 1 ? static_cast<double>(in) / (n - 1) : HUGE_VAL;
    };
    if (rows < 1 || cols < 1 || height < 1 || width < 1)
        return false;
    return std::max(low(height, rows), low(width, cols)) <=
           std::min(high(height, rows), high(width, cols));
}

bool is_square(int64_t n, int64_t *side)
{
    if (n <= 0)
        return false;
    *side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
    return *side * *side == n;
}

std::string dims(int64_t a, int64_t b) { return std::to_string(a) + " x " + std::to_string(b); }

const char *layout_name(uint32_t kind)
{
    return kind == EGCAM_TORCH_LAYOUT_CHANNELS_LAST ? "channels_last" : "channels";
}

// Refuse a 4-D reading that does not fit the input when the other does.
void check_order(const Layout &layout, const std::string &layer, const torch::Tensor &t,
                 int64_t height, int64_t width)
{
    bool last = layout.kind == EGCAM_TORCH_LAYOUT_CHANNELS_LAST;
    int64_t a = t.size(1), b = t.size(2), c = t.size(3);
    // (channels, rows, cols) as read, and as the other order would read them
    int64_t k = last ? c : a, r = last ? a : b, q = last ? b : c;
    int64_t ok = last ? a : c, orr = last ? b : a, oq = last ? c : b;
    if (layout.keep || grid_fits(r, q, height, width) || !grid_fits(orr, oq, height, width))
        return;
    uint32_t other = last ? EGCAM_TORCH_LAYOUT_CHANNELS : EGCAM_TORCH_LAYOUT_CHANNELS_LAST;
    throw Failure(EGCAM_E_UNSUPPORTED,
                  "layer '" + layer + "' outputs " + shape_string(t) + ": read as " +
                      layout_name(layout.kind) + " that is " + std::to_string(k) +
                      " channels on a " + dims(r, q) + " grid, which does not fit the " +
                      dims(height, width) + " input, while " + layout_name(other) + " gives " +
                      std::to_string(ok) + " channels on a " + dims(orr, oq) +
                      " grid: open the layer with the " + layout_name(other) +
                      " layout (egcam_torch_options.layout, egcam --layout " + layout_name(other) +
                      "), or keep this one with EGCAM_TORCH_FLAG_KEEP_LAYOUT (--keep-layout)");
}

} // namespace

std::string shape_string(const torch::Tensor &t)
{
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); i++)
        s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

torch::Tensor as_channels(const Layout &layout, const std::string &layer, const torch::Tensor &t,
                          int64_t height, int64_t width)
{
    if (layout.kind != EGCAM_TORCH_LAYOUT_TOKENS) {
        if (t.dim() != 4)
            throw Failure(EGCAM_E_UNSUPPORTED,
                          "layer '" + layer + "' outputs " + shape_string(t) + ", not [N, " +
                              (layout.kind == EGCAM_TORCH_LAYOUT_CHANNELS ? "K, h, w" : "h, w, K") +
                              "]; choose a convolutional layer, or the tokens layout for a "
                              "[N, tokens, D] output");
        check_order(layout, layer, t, height, width);
        return layout.kind == EGCAM_TORCH_LAYOUT_CHANNELS ? t : t.permute({0, 3, 1, 2});
    }
    if (t.dim() != 3)
        throw Failure(EGCAM_E_UNSUPPORTED, "layer '" + layer + "' outputs " + shape_string(t) +
                                               ", not [N, tokens, D] as the tokens layout needs");
    int64_t tokens = t.size(1) - static_cast<int64_t>(layout.prefix_tokens);
    int64_t gh = layout.grid_height, gw = layout.grid_width, side;
    if (gh == 0)
        gh = gw = is_square(tokens, &side) ? side : 0;
    if (tokens <= 0 || gh * gw != tokens)
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "layer '" + layer + "' has " + std::to_string(t.size(1)) + " tokens; " +
                          std::to_string(layout.prefix_tokens) + " prefix tokens leave " +
                          std::to_string(tokens) + ", which is not a " +
                          (layout.grid_height ? dims(gh, gw) : std::string("square")) + " grid");
    return t.narrow(1, layout.prefix_tokens, tokens)
        .transpose(1, 2)
        .reshape({t.size(0), t.size(2), gh, gw});
}

uint32_t suggest_layout(const std::vector<int64_t> &shape, int64_t height, int64_t width,
                        uint32_t *prefix_tokens)
{
    *prefix_tokens = 0;
    if (shape.size() == 4) {
        if (grid_fits(shape[2], shape[3], height, width))
            return EGCAM_TORCH_LAYOUT_CHANNELS;
        // Channels first unless only channels last fits: as_channels
        // refuses nothing else.
        return grid_fits(shape[1], shape[2], height, width) ? EGCAM_TORCH_LAYOUT_CHANNELS_LAST
                                                            : EGCAM_TORCH_LAYOUT_CHANNELS;
    }
    if (shape.size() == 3) {
        for (uint32_t prefix : {1u, 0u, 2u}) {
            int64_t side;
            if (is_square(shape[1] - prefix, &side)) {
                *prefix_tokens = prefix;
                return EGCAM_TORCH_LAYOUT_TOKENS;
            }
        }
    }
    return 0;
}

} // namespace egcam_shim

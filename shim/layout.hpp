// layout.hpp - how a layer's output becomes the [N, K, h, w] activations
// libegcam explains, and whether the chosen layout fits them.
//
// The test of fit: a layer's grid is its input seen through one
// downsampling factor s (a stride, a patch size), rounded either way. An
// output [N, a, b, c] read as channels first has the grid b x c, read as
// channels last the grid a x b; a reading fits the input H x W when some s
// gives |H/s - rows| <= 1 and |W/s - cols| <= 1. Swin's [1, 7, 7, 768] for
// a 224 x 224 input fits as channels last (s = 32) and not as channels
// first (a 7 x 768 grid), so the channels layout refuses it, naming the
// other, rather than drawing stripes.
#ifndef EGCAM_SHIM_LAYOUT_HPP
#define EGCAM_SHIM_LAYOUT_HPP

#include <cstdint>
#include <string>

#include <torch/script.h>

#include "egcam/egcam_torch.h"

namespace egcam_shim
{

struct Layout {
    uint32_t kind = EGCAM_TORCH_LAYOUT_CHANNELS; // EGCAM_TORCH_LAYOUT_*
    uint32_t prefix_tokens = 1;
    uint32_t grid_height = 0, grid_width = 0; // tokens: 0 = square
    bool keep = false;                        // EGCAM_TORCH_FLAG_KEEP_LAYOUT
};

// "[1, 7, 7, 768]", for messages.
std::string shape_string(const torch::Tensor &t);

// The layer's output t as [N, K, h, w] per the layout, for an input of
// height x width. Throws Failure (EGCAM_E_UNSUPPORTED) when t's rank does
// not suit the layout, a token count does not make the grid, or (unless
// keep) the other channel order fits the input and this one does not.
torch::Tensor as_channels(const Layout &layout, const std::string &layer, const torch::Tensor &t,
                          int64_t height, int64_t width);

// The layout an output of this shape needs for an input of height x width:
// for 4-D, channels unless only channels last fits the input; for 3-D,
// tokens when 1, 0 or 2 leading tokens leave a square grid (that prefix
// in *prefix_tokens); else 0.
uint32_t suggest_layout(const std::vector<int64_t> &shape, int64_t height, int64_t width,
                        uint32_t *prefix_tokens);

} // namespace egcam_shim

#endif

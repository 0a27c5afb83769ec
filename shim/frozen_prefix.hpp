// frozen_prefix.hpp - the network below the layer, frozen and optimised
// for inference.
//
// No pass ever needs a gradient below the layer, so the part of the model
// that computes the layer's output can run as LibTorch's freezing and
// inference optimisation leave it: parameters as constants, batch norm
// folded into the convolutions before it, convolutions prepacked (MKLDNN on
// CPU). Only the head, from the layer to the logits, keeps autograd. The
// folding changes float rounding; docs/torch.md states the difference and
// tests/test_torch.c bounds it.
#ifndef EGCAM_SHIM_FROZEN_PREFIX_HPP
#define EGCAM_SHIM_FROZEN_PREFIX_HPP

#include <memory>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/script.h>

namespace egcam_shim
{

struct FrozenPrefix {
    torch::jit::Module frozen;                      // owns the constants
    std::unique_ptr<torch::jit::GraphFunction> run; // (frozen, x) -> acts
};

// The prefix graph (self, x) -> the layer's output (CutMode::Activations),
// frozen against `module`. Returns nullptr when LibTorch cannot freeze it
// (a forward that changes the module's attributes, an attribute freezing
// does not handle): the caller keeps the exact path. Out of memory throws.
// `module` is left as it was.
std::unique_ptr<FrozenPrefix> freeze_prefix(const torch::jit::Module &module,
                                            const std::shared_ptr<torch::jit::Graph> &prefix);

} // namespace egcam_shim

#endif

// forward_graph.hpp - a model's forward as libegcam calls it: one image in,
// one tensor of logits out.
#ifndef EGCAM_SHIM_FORWARD_GRAPH_HPP
#define EGCAM_SHIM_FORWARD_GRAPH_HPP

#include <memory>
#include <string>

#include <torch/script.h>

#include "failure.hpp"

namespace egcam_shim
{

// A copy of module's forward graph taking (self, x) and returning one
// tensor. Arguments after x that have defaults become those defaults, as
// LibTorch fills them for a call that omits them; an argument without one
// is refused (EGCAM_E_UNSUPPORTED), named in words. A forward that returns
// a tuple or a dict returns its element `output` (an index, or a key) when
// output is not empty; without it, or when it names nothing there, it is
// refused with the choices. A tensor output with `output` set is refused
// too: the option would mean nothing.
std::shared_ptr<torch::jit::Graph> forward_graph(const torch::jit::Module &module,
                                                 const std::string &output);

} // namespace egcam_shim

#endif

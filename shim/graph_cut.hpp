// graph_cut.hpp - find a named module's output inside a TorchScript forward
// graph, and rewrite a copy of the graph to return it next to the logits.
#ifndef EGCAM_SHIM_GRAPH_CUT_HPP
#define EGCAM_SHIM_GRAPH_CUT_HPP

#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>

#include "failure.hpp"

namespace egcam_shim
{

// How the activations are made to come out of the graph.
enum class CutMode {
    Inference,   // (logits, a copy of the layer's output taken before any
                 //  later in-place op can change it)
    Gradient,    // (logits, leaf) where leaf is a detached copy of the layer's
                 //  output that requires grad and that the rest of the model
                 //  reads instead: autograd then stops at the layer
    Activations, // the layer's output alone: the layers above it, which only
                 //  the logits need, are dead code and removed
    Head,        // logits from (self, x, acts): the layer's output is the
                 //  graph's third input, and what computed it is removed;
                 //  values made below the layer that the head reads (a skip
                 //  connection across it) are still computed from x
};

// A copy of module's forward graph (forward_graph.hpp: one image in, the
// result `output` of it out) returning (logits, activations) for the
// module at `layer` (a dotted path). Throws Failure for an unknown layer
// (listing the closest paths), a layer inside a branch or loop, a layer
// whose output is not one tensor, and what forward_graph() refuses.
std::shared_ptr<torch::jit::Graph> cut_graph(const torch::jit::Module &module,
                                             const std::string &layer, CutMode mode,
                                             const std::string &output);

// Whether a head graph (CutMode::Head) computes a tensor from the input
// alone: a value made below the layer that the head reads (a skip
// connection across the layer), which it would compute a second time.
bool head_reads_below(const std::shared_ptr<torch::jit::Graph> &head);

// Every module path of `module` (named_modules order, root excluded).
std::vector<std::string> module_paths(const torch::jit::Module &module);

// A copy of the forward graph returning (logits, out_1, ..., out_n): the
// output of every module of `paths` that the forward calls on its main path
// with a tensor result; found[i] tells whether paths[i] got an output.
std::shared_ptr<torch::jit::Graph> graph_with_all_layers(const torch::jit::Module &module,
                                                         const std::vector<std::string> &paths,
                                                         std::vector<bool> &found,
                                                         const std::string &output);

} // namespace egcam_shim

#endif

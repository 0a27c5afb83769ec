// frozen_prefix.cpp - freeze the graph that computes the layer's output.
//
// LibTorch freezes methods of a module, not free graphs: the prefix graph
// becomes a method of the module's type for as long as it takes to clone
// the module (a new type, the same tensors), the clone drops its forward so
// that only the prefix is frozen (the head and the whole forward keep their
// weights as they are), and the method leaves the original type again.
#include "frozen_prefix.hpp"

#include "failure.hpp"

#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

namespace egcam_shim
{

namespace
{

constexpr const char *kMethod = "egcam_frozen_prefix";

// The prefix as a method of `type` while it lives.
class TemporaryMethod
{
  public:
    TemporaryMethod(const torch::jit::Module &module, const std::shared_ptr<torch::jit::Graph> &g)
        : type_(module.type()), cu_(module._ivalue()->compilation_unit())
    {
        name_ = c10::QualifiedName(*type_->name(), kMethod);
        torch::jit::Function *fn = cu_->create_function(name_, g->copy());
        try {
            type_->addMethod(fn);
        } catch (...) {
            cu_->unsafeRemoveMethod(name_);
            throw;
        }
    }
    ~TemporaryMethod()
    {
        type_->unsafeRemoveMethod(kMethod);
        cu_->unsafeRemoveMethod(name_);
    }
    TemporaryMethod(const TemporaryMethod &) = delete;
    TemporaryMethod &operator=(const TemporaryMethod &) = delete;

  private:
    c10::ClassTypePtr type_;
    std::shared_ptr<torch::jit::CompilationUnit> cu_;
    c10::QualifiedName name_;
};

} // namespace

std::unique_ptr<FrozenPrefix> freeze_prefix(const torch::jit::Module &module,
                                            const std::shared_ptr<torch::jit::Graph> &prefix)
{
    // A class without a name cannot take a method; one that has ours, a second.
    if (!module.type()->name() || module.type()->findMethod(kMethod))
        return nullptr;
    try {
        torch::jit::Module clone;
        {
            TemporaryMethod method(module, prefix);
            clone = module.clone(/*inplace=*/true); // shares the tensors
        }
        clone.type()->unsafeRemoveMethod("forward");
        auto out = std::make_unique<FrozenPrefix>();
        out->frozen = torch::jit::freeze_module(clone, {kMethod});
        std::shared_ptr<torch::jit::Graph> g = out->frozen.get_method(kMethod).graph();
        // What torch.jit.freeze and torch.jit.optimize_for_inference run.
        torch::jit::OptimizeFrozenGraph(g, /*optimize_numerics=*/true);
        torch::jit::FuseFrozenConvAddRelu(g);
        torch::jit::ConvertFrozenOpsToMKLDNN(g);
        torch::jit::FrozenLinearTranspose(g);
        // As the other cut graphs: run as written, no profiling.
        out->run = std::make_unique<torch::jit::GraphFunction>(
            kMethod, g, nullptr, torch::jit::ExecutorExecutionMode::SIMPLE);
        return out;
    } catch (const std::bad_alloc &) {
        throw;
    } catch (const std::exception &e) {
        if (says_out_of_memory(e.what())) // not a model freezing cannot handle
            throw;
        return nullptr;
    }
}

} // namespace egcam_shim

// egcam_torch.cpp - the LibTorch backend behind egcam_torch.h.
//
// Every function that C calls is noexcept and runs its body through
// guarded(), which turns every exception into a status and a message: no
// C++ exception ever crosses into C.
#include "egcam/egcam_torch.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/cuda.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/script.h>

#include "egcam/egcam_backend.h"
#include "frozen_prefix.hpp"
#include "graph_cut.hpp"
#include "layout.hpp"
#include "model_file.hpp"

namespace
{

using egcam_shim::CutMode;
using egcam_shim::Failure;
using egcam_shim::Layout;
using egcam_shim::says_out_of_memory;
using egcam_shim::shape_string;

// LibTorch prefixes interpreter errors with the TorchScript traceback; the
// last "Error:" line is the one a user can act on.
std::string concise(const std::string &what)
{
    size_t tb = what.find("Traceback of TorchScript");
    if (tb == std::string::npos)
        return what.substr(0, what.find('\n')) == what ? what : what.substr(0, 400);
    size_t err = what.rfind("Error: ");
    if (err == std::string::npos)
        return what.substr(0, 400);
    size_t start = what.rfind('\n', err);
    std::string line = what.substr(start == std::string::npos ? 0 : start + 1);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
        line.pop_back();
    return line;
}

// What an exception says, without the C++ backtrace c10::Error appends.
std::string what_of(const std::exception &e)
{
    auto *c10_error = dynamic_cast<const c10::Error *>(&e);
    return c10_error ? c10_error->what_without_backtrace() : e.what();
}

// An exception LibTorch threw: out of memory, or the backend's failure.
egcam_status torch_status(const std::string &what)
{
    return says_out_of_memory(what) ? EGCAM_E_OUT_OF_MEMORY : EGCAM_E_BACKEND;
}

// Run body, mapping every exception to a status reported through report().
template <class Report, class Body> egcam_status guarded(Report &&report, Body &&body) noexcept
{
    try {
        try {
            return body();
        } catch (const Failure &f) {
            return report(static_cast<egcam_status>(f.status), f.what());
        } catch (const c10::OutOfMemoryError &e) {
            return report(EGCAM_E_OUT_OF_MEMORY, concise(e.what_without_backtrace()).c_str());
        } catch (const std::bad_alloc &) {
            return report(EGCAM_E_OUT_OF_MEMORY, "out of memory");
        } catch (const std::exception &e) { // c10::Error and the rest
            std::string what = what_of(e);
            return report(torch_status(what), concise(what).c_str());
        } catch (...) {
            return report(EGCAM_E_INTERNAL, "unknown C++ exception");
        }
    } catch (...) { // building the message itself threw: no memory left
        return report(EGCAM_E_OUT_OF_MEMORY, "out of memory");
    }
}

auto to_ctx(egcam_ctx *ctx)
{
    return [ctx](egcam_status st, const char *msg) noexcept {
        return egcam_ctx_set_error(ctx, st, msg);
    };
}

auto to_buffer(char *buf, size_t size)
{
    return [buf, size](egcam_status st, const char *msg) noexcept {
        if (buf && size)
            std::snprintf(buf, size, "%s", msg);
        return st;
    };
}

bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

// Defaults over the first `size` bytes, as egcam_config_init_sized() does.
void options_defaults(egcam_torch_options *o, size_t size)
{
    std::memset(o, 0, size);
    o->struct_size = size;
    o->layout = EGCAM_TORCH_LAYOUT_CHANNELS;
    o->prefix_tokens = 1;
}

constexpr size_t kStructSizeMax = 4096;

// The options in force: the caller's, checked, or the defaults.
egcam_torch_options checked_options(const egcam_torch_options *opts)
{
    egcam_torch_options o;
    options_defaults(&o, sizeof o);
    if (!opts)
        return o;
    if (opts->struct_size < sizeof o || opts->struct_size > kStructSizeMax)
        throw Failure(EGCAM_E_STRUCT_SIZE,
                      "egcam_torch_options.struct_size is " + std::to_string(opts->struct_size) +
                          "; initialise the options with egcam_torch_options_init()");
    if (opts->reserved0 || !all_zero(opts->reserved, sizeof opts->reserved) ||
        !all_zero(reinterpret_cast<const char *>(opts) + sizeof o, opts->struct_size - sizeof o))
        throw Failure(EGCAM_E_STRUCT_SIZE,
                      "egcam_torch_options has non-zero reserved bytes (a newer header?)");
    if (opts->layout != EGCAM_TORCH_LAYOUT_CHANNELS && opts->layout != EGCAM_TORCH_LAYOUT_TOKENS &&
        opts->layout != EGCAM_TORCH_LAYOUT_CHANNELS_LAST)
        throw Failure(EGCAM_E_INVALID_ARGUMENT,
                      "egcam_torch_options.layout is " + std::to_string(opts->layout));
    if (opts->flags & ~(EGCAM_TORCH_FLAG_KEEP_LAYOUT | EGCAM_TORCH_FLAG_EXACT))
        throw Failure(EGCAM_E_INVALID_ARGUMENT,
                      "egcam_torch_options.flags has unknown bits " + std::to_string(opts->flags));
    if ((opts->grid_height == 0) != (opts->grid_width == 0))
        throw Failure(EGCAM_E_INVALID_ARGUMENT,
                      "egcam_torch_options: set both grid_height and grid_width, or neither");
    if (opts->output && std::strlen(opts->output) > 4096)
        throw Failure(EGCAM_E_INVALID_ARGUMENT, "egcam_torch_options.output is too long");
    std::memcpy(&o, opts, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

torch::Device parse_device(const char *name)
{
    if (!name || !*name || std::strcmp(name, "cpu") == 0)
        return torch::Device(torch::kCPU);
    std::string s(name);
    if (s.compare(0, 4, "cuda") != 0)
        throw Failure(EGCAM_E_INVALID_ARGUMENT, "device '" + s + "' is not cpu, cuda or cuda:N");
    if (!torch::cuda::is_available())
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "device '" + s +
                          "': this LibTorch has no CUDA, or no CUDA device is visible");
    c10::optional<torch::Device> parsed;
    try {
        parsed = torch::Device(s);
    } catch (const c10::Error &) {
        throw Failure(EGCAM_E_INVALID_ARGUMENT, "device '" + s + "' is not cpu, cuda or cuda:N");
    }
    torch::Device device = *parsed;
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count()))
        throw Failure(EGCAM_E_UNSUPPORTED, "device '" + s + "': only " +
                                               std::to_string(torch::cuda::device_count()) +
                                               " CUDA devices are visible");
    return device;
}

// The model, verified as an archive first (model_file.hpp), then read by
// LibTorch from the same open file.
torch::jit::Module load_model(const char *path, torch::Device device, uint64_t max_bytes)
{
    auto reader = egcam_shim::open_model_file(path, max_bytes);
    torch::jit::Module module;
    try {
        module = torch::jit::load(reader, device);
    } catch (const std::bad_alloc &) {
        throw;
    } catch (const std::exception &e) { // c10::Error, torch::jit::ErrorReport and kin
        std::string what = concise(what_of(e));
        if (says_out_of_memory(what))
            throw Failure(EGCAM_E_OUT_OF_MEMORY, std::string(path) + ": " + what);
        throw Failure(EGCAM_E_FORMAT,
                      std::string(path) + " is not a TorchScript model (" + what + ")");
    }
    module.eval();
    // Gradients are wanted at the layer only, never for parameters.
    for (torch::Tensor p : module.parameters())
        p.set_requires_grad(false);
    return module;
}

Layout layout_of(const egcam_torch_options &o)
{
    Layout l;
    l.kind = o.layout;
    l.prefix_tokens = o.prefix_tokens;
    l.grid_height = o.grid_height;
    l.grid_width = o.grid_width;
    l.keep = o.flags & EGCAM_TORCH_FLAG_KEEP_LAYOUT;
    return l;
}

// One opened model, cut at its layer. Either the network below the layer
// is frozen (prefix, then head: the default) or the three cut graphs run
// the model as written (EGCAM_TORCH_FLAG_EXACT, or a model that cannot be
// frozen).
struct TorchBackend {
    torch::jit::Module module;
    torch::Device device{torch::kCPU};
    Layout layout;
    std::string layer;
    std::string output;                  // egcam_torch_options.output
    int64_t in_height = 0, in_width = 0; // of the last forward
    std::unique_ptr<egcam_shim::FrozenPrefix> prefix;
    std::unique_ptr<torch::jit::GraphFunction> head;
    std::unique_ptr<torch::jit::GraphFunction> inference, gradient, activations;
    // The last forward for backward: its logits and the layer's leaf.
    torch::Tensor logits_dev, leaf_dev;
    // Host copies that the views handed to libegcam point into.
    torch::Tensor acts_host, logits_host, grad_host;
};

std::unique_ptr<torch::jit::GraphFunction> make_function(const TorchBackend &b,
                                                         std::shared_ptr<torch::jit::Graph> graph)
{
    // The simple executor runs the graph as written: no profiling, no
    // autodiff subgraphs around our detach/requires_grad_ rewrite.
    return std::make_unique<torch::jit::GraphFunction>("egcam_cut_" + b.layer, graph, nullptr,
                                                       torch::jit::ExecutorExecutionMode::SIMPLE);
}

torch::Tensor to_host(const torch::Tensor &t)
{
    return t.detach().to(torch::kCPU, torch::kFloat).contiguous();
}

egcam_tensor view(const torch::Tensor &t)
{
    egcam_tensor v{};
    v.data = t.data_ptr<float>();
    v.ndim = static_cast<uint32_t>(t.dim());
    for (int64_t i = 0; i < t.dim() && i < 4; i++)
        v.shape[i] = t.size(i);
    return v;
}

// The logits a forward returned, checked.
// The model's output as logits [N, L]: checked, and flattened when it has
// more dimensions (a segmentation model's [N, classes, H, W]).
torch::Tensor as_logits(const TorchBackend *b, const torch::Tensor &x, torch::Tensor y,
                        bool for_backward)
{
    if (y.dim() > 2 && y.size(0) == x.size(0))
        y = y.flatten(1);
    if (y.dim() != 2 || y.size(0) != x.size(0))
        throw Failure(EGCAM_E_BACKEND, "the model returned logits of shape " + shape_string(y) +
                                           " for " + std::to_string(x.size(0)) +
                                           " inputs; expected [N, classes]");
    if (!y.is_floating_point())
        throw Failure(
            EGCAM_E_UNSUPPORTED,
            std::string("the model returns logits of type ") + c10::toString(y.scalar_type()) +
                (y.is_complex() ? " (complex numbers)" : " (an argmax, a comparison or a cast?)") +
                "; libegcam explains real floating-point logits [N, classes]");
    if (for_backward && !y.requires_grad())
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "the model's logits carry no gradient back to layer '" + b->layer +
                          "': its forward detaches them (.detach(), torch.no_grad()) or "
                          "does not use the layer's output on the way to them");
    return y;
}

// Hand the layer's output a (and the logits y, when defined) to libegcam.
egcam_status finish_forward(TorchBackend *b, const torch::Tensor &x, const torch::Tensor &y,
                            const torch::Tensor &a, bool for_backward, egcam_tensor *acts,
                            egcam_tensor *logits)
{
    b->in_height = x.size(2);
    b->in_width = x.size(3);
    b->acts_host =
        to_host(egcam_shim::as_channels(b->layout, b->layer, a, b->in_height, b->in_width));
    *acts = view(b->acts_host);
    if (!y.defined()) {
        *logits = egcam_tensor{};
        return EGCAM_OK;
    }
    b->logits_host = to_host(y);
    if (for_backward) {
        b->logits_dev = y;
        b->leaf_dev = a;
    }
    *logits = view(b->logits_host);
    return EGCAM_OK;
}

// The frozen prefix gives the layer's output without a gradient, in every
// pass; a forward for backward makes it the leaf the head starts from, so
// autograd records the head alone.
egcam_status frozen_forward(TorchBackend *b, const torch::Tensor &x, bool for_backward,
                            bool acts_only, egcam_tensor *acts, egcam_tensor *logits)
{
    torch::Tensor a;
    {
        torch::NoGradGuard below_the_layer;
        a = (*b->prefix->run)({b->prefix->frozen._ivalue(), x}).toTensor();
    }
    if (acts_only)
        return finish_forward(b, x, torch::Tensor(), a, false, acts, logits);
    if (for_backward) // a leaf of its own: never flag a tensor the frozen graph holds
        a = a.detach().requires_grad_(true);
    torch::Tensor y =
        as_logits(b, x, (*b->head)({b->module._ivalue(), x, a}).toTensor(), for_backward);
    return finish_forward(b, x, y, a, for_backward, acts, logits);
}

egcam_status torch_forward(void *self, const egcam_tensor *inputs, uint32_t flags,
                           egcam_tensor *acts, egcam_tensor *logits, char *err,
                           size_t err_size) noexcept
{
    auto *b = static_cast<TorchBackend *>(self);
    return guarded(to_buffer(err, err_size), [&] {
        b->logits_dev = b->leaf_dev = torch::Tensor();
        bool for_backward = flags & EGCAM_FORWARD_FOR_BACKWARD;
        bool acts_only = flags & EGCAM_FORWARD_ACTIVATIONS_ONLY;
        // Both modes are thread-local: set them first, for every tensor made here.
        c10::InferenceMode inference(!for_backward);
        torch::AutoGradMode grad(for_backward);
        std::vector<int64_t> shape(inputs->shape, inputs->shape + inputs->ndim);
        // A copy: a model that edits its input in place must not edit ours.
        torch::Tensor x = torch::from_blob(const_cast<float *>(inputs->data), shape, torch::kFloat)
                              .to(b->device, /*non_blocking=*/false, /*copy=*/true);
        if (b->prefix)
            return frozen_forward(b, x, for_backward, acts_only, acts, logits);
        if (acts_only) { // the graph that stops at the layer
            torch::Tensor a = (*b->activations)({b->module._ivalue(), x}).toTensor();
            return finish_forward(b, x, torch::Tensor(), a, false, acts, logits);
        }
        c10::IValue out = for_backward ? (*b->gradient)({b->module._ivalue(), x})
                                       : (*b->inference)({b->module._ivalue(), x});
        auto items = out.toTuple()->elements();
        torch::Tensor y = as_logits(b, x, items[0].toTensor(), for_backward);
        torch::Tensor a = items[1].toTensor();
        return finish_forward(b, x, y, a, for_backward, acts, logits);
    });
}

// The gradient of sum seed * logits at the layer, for the last forward for
// backward; its autograd state is kept for another backward when retain.
egcam_status backward_from(TorchBackend *b, const float *seed, bool retain, egcam_tensor *grad)
{
    if (!b->leaf_dev.defined())
        throw Failure(EGCAM_E_BACKEND, "backward without a forward made for backward");
    c10::InferenceMode off(false);
    torch::Tensor y = b->logits_dev, leaf = b->leaf_dev;
    if (!retain) // the forward's last backward: free its graph with it
        b->logits_dev = b->leaf_dev = torch::Tensor();
    torch::Tensor s = torch::from_blob(const_cast<float *>(seed), y.sizes(), torch::kFloat)
                          .to(y.device(), y.scalar_type(), false, true);
    torch::Tensor g = torch::autograd::grad({y}, {leaf}, {s}, /*retain_graph=*/retain,
                                            /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!g.defined()) // the logits do not depend on the layer
        g = torch::zeros_like(leaf);
    b->grad_host =
        to_host(egcam_shim::as_channels(b->layout, b->layer, g, b->in_height, b->in_width));
    *grad = view(b->grad_host);
    return EGCAM_OK;
}

egcam_status torch_backward(void *self, const float *seed, egcam_tensor *grad, char *err,
                            size_t err_size) noexcept
{
    auto *b = static_cast<TorchBackend *>(self);
    return guarded(to_buffer(err, err_size), [&] { return backward_from(b, seed, false, grad); });
}

// Version 2: several targets of one forward, each its own backward.
egcam_status torch_backward_retain(void *self, const float *seed, uint32_t flags,
                                   egcam_tensor *grad, char *err, size_t err_size) noexcept
{
    auto *b = static_cast<TorchBackend *>(self);
    return guarded(to_buffer(err, err_size), [&] {
        if (flags & ~EGCAM_BACKWARD_RETAIN)
            throw Failure(EGCAM_E_BACKEND, "backward_retain: unknown flags");
        return backward_from(b, seed, flags & EGCAM_BACKWARD_RETAIN, grad);
    });
}

void torch_release(void *self) noexcept
{
    try {
        delete static_cast<TorchBackend *>(self);
    } catch (...) {
    }
}

// One table per path, alike but for the name, so that egcam_backend_name()
// tells which one runs.
constexpr egcam_backend_ops torch_table(const char *name)
{
    return {EGCAM_BACKEND_ABI_VERSION,
            sizeof(egcam_backend_ops),
            name,
            torch_forward,
            torch_backward,
            torch_release,
            torch_backward_retain,
            EGCAM_FORWARD_ACTIVATIONS_ONLY};
}

const egcam_backend_ops torch_ops = torch_table("libtorch");
const egcam_backend_ops torch_exact_ops = torch_table("libtorch-exact");

// Paths and output shapes of every module, for egcam_torch_list_layers().
struct LayerList {
    std::vector<std::string> paths;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<uint32_t> layouts, prefixes; // suggest_layout() for the input listed
};

} // namespace

struct egcam_torch_layers : LayerList {
};

extern "C" {

egcam_status egcam_torch_options_init_sized(egcam_torch_options *opts, size_t size)
{
    if (!opts)
        return EGCAM_E_NULL_ARGUMENT;
    if (size < sizeof *opts || size > kStructSizeMax)
        return EGCAM_E_STRUCT_SIZE;
    options_defaults(opts, size);
    return EGCAM_OK;
}

egcam_status egcam_torch_open(egcam_ctx *ctx, const char *model_path, const char *layer,
                              const egcam_torch_options *opts, egcam_backend **out)
{
    if (out)
        *out = nullptr;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam_ctx_set_error(ctx, EGCAM_OK, "");
    if (!out)
        return egcam_ctx_set_error(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_torch_open: out is NULL");
    if (!model_path || !layer)
        return egcam_ctx_set_error(ctx, EGCAM_E_NULL_ARGUMENT,
                                   model_path ? "egcam_torch_open: layer is NULL"
                                              : "egcam_torch_open: model_path is NULL");
    return guarded(to_ctx(ctx), [&] {
        auto b = std::make_unique<TorchBackend>();
        egcam_torch_options o = checked_options(opts);
        b->device = parse_device(o.device); // o.device is borrowed: not kept
        b->layout = layout_of(o);
        b->module = load_model(model_path, b->device, o.max_model_bytes);
        b->layer = layer;
        b->output = o.output ? o.output : ""; // borrowed: copied
        auto cut = [&](CutMode mode) {
            return egcam_shim::cut_graph(b->module, b->layer, mode, b->output);
        };
        // Frozen, unless asked not to, or the head would compute part of the
        // network below the layer again (a skip connection across it), or
        // LibTorch cannot freeze the model.
        std::shared_ptr<torch::jit::Graph> head;
        if (!(o.flags & EGCAM_TORCH_FLAG_EXACT)) {
            head = cut(CutMode::Head);
            if (!egcam_shim::head_reads_below(head))
                b->prefix = egcam_shim::freeze_prefix(b->module, cut(CutMode::Activations));
        }
        if (b->prefix) {
            b->head = make_function(*b, head);
        } else {
            b->inference = make_function(*b, cut(CutMode::Inference));
            b->gradient = make_function(*b, cut(CutMode::Gradient));
            b->activations = make_function(*b, cut(CutMode::Activations));
        }
        egcam_status st =
            egcam_backend_new(ctx, b->prefix ? &torch_ops : &torch_exact_ops, b.get(), out);
        if (st == EGCAM_OK)
            b.release(); // the backend owns it now
        return st;
    });
}

egcam_status egcam_torch_list_layers(egcam_ctx *ctx, const char *model_path, uint32_t channels,
                                     uint32_t height, uint32_t width,
                                     const egcam_torch_options *opts, egcam_torch_layers **out)
{
    if (out)
        *out = nullptr;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam_ctx_set_error(ctx, EGCAM_OK, "");
    if (!out || !model_path)
        return egcam_ctx_set_error(ctx, EGCAM_E_NULL_ARGUMENT,
                                   "egcam_torch_list_layers: model_path or out is NULL");
    if (!channels || !height || !width)
        return egcam_ctx_set_error(ctx, EGCAM_E_EMPTY,
                                   "egcam_torch_list_layers: the input shape has a zero");
    return guarded(to_ctx(ctx), [&] {
        egcam_torch_options o = checked_options(opts);
        torch::Device device = parse_device(o.device);
        torch::jit::Module module = load_model(model_path, device, o.max_model_bytes);
        auto list = std::make_unique<egcam_torch_layers>();
        list->paths = egcam_shim::module_paths(module);
        std::vector<bool> found;
        auto graph =
            egcam_shim::graph_with_all_layers(module, list->paths, found, o.output ? o.output : "");
        torch::jit::GraphFunction fn("egcam_layers", graph, nullptr,
                                     torch::jit::ExecutorExecutionMode::SIMPLE);
        c10::InferenceMode on(true);
        torch::Tensor x =
            torch::zeros({1, channels, height, width}, torch::TensorOptions().device(device));
        auto items = fn({module._ivalue(), x}).toTuple()->elements();
        size_t next = 1;
        for (size_t i = 0; i < list->paths.size(); i++) {
            std::vector<int64_t> shape;
            if (found[i]) {
                torch::Tensor t = items[next++].toTensor();
                shape.assign(t.sizes().begin(), t.sizes().end());
            }
            uint32_t prefix = 0;
            list->layouts.push_back(egcam_shim::suggest_layout(shape, height, width, &prefix));
            list->prefixes.push_back(prefix);
            list->shapes.push_back(shape);
        }
        *out = list.release();
        return EGCAM_OK;
    });
}

size_t egcam_torch_layers_count(const egcam_torch_layers *layers)
{
    return layers ? layers->paths.size() : 0;
}

const char *egcam_torch_layers_path(const egcam_torch_layers *layers, size_t i)
{
    return layers && i < layers->paths.size() ? layers->paths[i].c_str() : nullptr;
}

uint32_t egcam_torch_layers_shape(const egcam_torch_layers *layers, size_t i, int64_t shape[4])
{
    if (!layers || i >= layers->shapes.size() || layers->shapes[i].size() > 4)
        return 0;
    const std::vector<int64_t> &s = layers->shapes[i];
    for (size_t d = 0; d < s.size() && shape; d++)
        shape[d] = s[d];
    return static_cast<uint32_t>(s.size());
}

uint32_t egcam_torch_layers_layout(const egcam_torch_layers *layers, size_t i,
                                   uint32_t *prefix_tokens)
{
    if (prefix_tokens)
        *prefix_tokens = 0;
    if (!layers || i >= layers->layouts.size())
        return 0;
    if (prefix_tokens)
        *prefix_tokens = layers->prefixes[i];
    return layers->layouts[i];
}

void egcam_torch_layers_free(egcam_torch_layers *layers) { delete layers; }

egcam_status egcam_torch_set_threads(egcam_ctx *ctx, uint32_t threads)
{
    egcam_ctx_set_error(ctx, EGCAM_OK, "");
    if (threads == 0)
        return EGCAM_OK;
    return guarded(to_ctx(ctx), [&] {
        at::set_num_threads(static_cast<int>(threads));
        return EGCAM_OK;
    });
}

int egcam_torch_cuda_available(void)
{
    try {
        return torch::cuda::is_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

} // extern "C"

// graph_cut.cpp - cut a TorchScript forward graph at a named module.
//
// Module calls are inlined selectively, from the top: a call is inlined
// only when its module is an ancestor of the target, so the target's own
// call survives as one prim::CallMethod node whose output is exactly the
// module's return value. Every other module call stays a call. Modules are
// told apart by object, not by name: a module reachable under two names
// (self.a = self.b = conv) is one module, whichever name the forward uses.
#include "graph_cut.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "egcam/egcam.h"
#include "forward_graph.hpp"

namespace egcam_shim
{

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;
namespace attr = torch::jit::attr;
namespace prim = c10::prim;
namespace aten = c10::aten;

namespace
{

std::string join(const std::string &prefix, const std::string &name)
{
    return prefix.empty() ? name : prefix + "." + name;
}

// What makes two module paths one module. Scripting gives each name of a
// module (self.a = self.b = conv) its own object, sharing the tensors; so a
// module is its type and the storage of every parameter and buffer in it,
// or, when it holds no tensor, its object. "" when the path names no
// module.
using ModuleId = std::string;

class ModuleIds
{
  public:
    explicit ModuleIds(const torch::jit::Module &root) : root_(root) {}
    const ModuleId &operator()(const std::string &path)
    {
        auto it = cache_.find(path);
        if (it != cache_.end())
            return it->second;
        torch::jit::Module m = root_;
        bool ok = true;
        for (size_t start = 0; ok && !path.empty() && start <= path.size();) {
            size_t dot = path.find('.', start);
            std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
            ok = m.hasattr(part) && m.attr(part).isModule();
            if (ok)
                m = m.attr(part).toModule();
            start = dot == std::string::npos ? path.size() + 1 : dot + 1;
        }
        return cache_[path] = ok ? identity(m) : ModuleId();
    }

  private:
    static ModuleId identity(const torch::jit::Module &m)
    {
        std::string id = m.type()->str();
        size_t tensors = 0;
        auto add = [&](const torch::Tensor &t) {
            if (!t.defined())
                return;
            tensors++;
            id += " " + std::to_string(reinterpret_cast<uintptr_t>(t.data_ptr())) + ":" +
                  std::to_string(t.numel());
        };
        for (const auto &p : m.named_parameters(true))
            add(p.value);
        for (const auto &b : m.named_buffers(true))
            add(b.value);
        if (!tensors)
            id += " @" + std::to_string(reinterpret_cast<uintptr_t>(m._ivalue().get()));
        return id;
    }

    torch::jit::Module root_;
    std::unordered_map<std::string, ModuleId> cache_;
};

// The modules that hold `target` below them, under any of its names: the
// calls to inline on the way to it.
std::set<ModuleId> holders(const std::vector<std::string> &paths, const ModuleId &target,
                           ModuleIds &ids)
{
    std::set<ModuleId> out;
    for (const std::string &p : paths) {
        if (ids(p) != target)
            continue;
        out.insert(ids(""));
        for (size_t dot = p.find('.'); dot != std::string::npos; dot = p.find('.', dot + 1))
            out.insert(ids(p.substr(0, dot)));
    }
    return out;
}

// A call of a module's forward: tracing names the second and later calls of
// one module forward1, forward2, ...
bool is_forward(const Node *call)
{
    const std::string &name = call->s(attr::name);
    return name.compare(0, 7, "forward") == 0 &&
           std::all_of(name.begin() + 7, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_module(const Value *v)
{
    auto cls = v->type()->cast<c10::ClassType>();
    return cls && cls->is_module();
}

// One call of a module's forward found in the graph.
struct ModuleCall {
    std::string path;
    Node *node;
    bool nested; // inside an If or Loop block
};

// Walk every node (sub-blocks included) in order, tracking the module
// path of module-typed values from the graph's `self` input.
template <class Visit>
bool walk(torch::jit::Block *block, std::unordered_map<const Value *, std::string> &paths,
          bool nested, Visit &visit)
{
    for (Node *node : block->nodes()) {
        if (node->kind() == prim::GetAttr && is_module(node->output())) {
            auto it = paths.find(node->input(0));
            if (it != paths.end())
                paths[node->output()] = join(it->second, node->s(attr::name));
        }
        if (node->kind() == prim::CallMethod && is_module(node->input(0))) {
            auto it = paths.find(node->input(0));
            if (it != paths.end() && visit(ModuleCall{it->second, node, nested}))
                return true; // the graph changed: start again
        }
        for (torch::jit::Block *sub : node->blocks())
            if (walk(sub, paths, true, visit))
                return true;
    }
    return false;
}

void inline_call(Node *call)
{
    auto cls = call->input(0)->type()->expect<c10::ClassType>();
    torch::jit::Function &method = cls->getMethod(call->s(attr::name));
    // The callee as written (false): its optimized graph has every call
    // inlined already, which would hide the module boundaries we look for.
    torch::jit::inlineCallTo(call, &torch::jit::toGraphFunction(method), false);
}

// Inline the calls of modules for which `descend` is true, until none is
// left; then report every remaining module call to `seen`.
template <class Descend, class Seen>
void inline_calls(const std::shared_ptr<Graph> &graph, Descend descend, Seen seen)
{
    for (;;) {
        std::unordered_map<const Value *, std::string> paths{{graph->inputs()[0], ""}};
        auto visit = [&](const ModuleCall &call) {
            if (!descend(call))
                return false;
            inline_call(call.node);
            return true;
        };
        if (!walk(graph->block(), paths, false, visit))
            break;
    }
    std::unordered_map<const Value *, std::string> paths{{graph->inputs()[0], ""}};
    auto report = [&](const ModuleCall &call) {
        seen(call);
        return false;
    };
    walk(graph->block(), paths, false, report);
}

size_t edit_distance(const std::string &a, const std::string &b)
{
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); j++) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

// Longer names are compared by their first kMaxCompared characters, and
// shown by their first kMaxShown: the suggestions cost paths x 256 x path
// length at most, whatever the caller passes.
constexpr size_t kMaxCompared = 256, kMaxShown = 120;

std::vector<std::string> split_path(const std::string &path)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
        parts.push_back(path.substr(start, dot - start));
    parts.push_back(path.substr(start));
    return parts;
}

bool all_digits(const std::string &s)
{
    return !s.empty() && s.size() < 10 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A vision transformer's module path in the other spelling: timm's
// (blocks.11.norm1) as torchvision's ViT writes it
// (encoder.layers.encoder_layer_11.ln_1), and back. "" when the path has
// no counterpart; *spelling names the library whose spelling it returns.
// The names people copy from one library's docs into the other's model.
std::string other_vit_spelling(const std::string &path, const char **spelling)
{
    static const char tv_name[] = "torchvision's ViT", timm_name[] = "timm's";
    static const std::pair<const char *, const char *> inside[] = {
        {"norm1", "ln_1"}, {"norm2", "ln_2"}, {"attn", "self_attention"}, {"mlp", "mlp"}};
    static const std::pair<const char *, const char *> whole[] = {
        {"norm", "encoder.ln"}, {"head", "heads.head"}, {"patch_embed.proj", "conv_proj"}};
    for (const auto &w : whole) {
        *spelling = path == w.first ? tv_name : timm_name;
        if (path == w.first)
            return w.second;
        if (path == w.second)
            return w.first;
    }
    std::vector<std::string> p = split_path(path);
    std::string block, rest;
    size_t from = 0;
    bool timm = p.size() >= 2 && p[0] == "blocks" && all_digits(p[1]);
    bool tv = p.size() >= 3 && p[0] == "encoder" && p[1] == "layers" &&
              p[2].rfind("encoder_layer_", 0) == 0 && all_digits(p[2].substr(14));
    if (timm) {
        block = "encoder.layers.encoder_layer_" + p[1];
        from = 2;
        *spelling = tv_name;
    } else if (tv) {
        block = "blocks." + p[2].substr(14);
        from = 3;
        *spelling = timm_name;
    } else {
        return "";
    }
    for (size_t i = from; i < p.size(); i++) {
        std::string part = p[i];
        if (i == from)
            for (const auto &n : inside)
                if (part == (timm ? n.first : n.second)) {
                    part = timm ? n.second : n.first;
                    break;
                }
        rest += "." + part;
    }
    return block + rest;
}

[[noreturn]] void unknown_layer(const torch::jit::Module &module, const std::string &layer)
{
    std::vector<std::string> paths = module_paths(module);
    std::string probe = layer.substr(0, kMaxCompared);
    std::vector<std::pair<size_t, size_t>> ranked; // (distance, index), computed once
    ranked.reserve(paths.size());
    for (size_t i = 0; i < paths.size(); i++)
        ranked.emplace_back(edit_distance(paths[i], probe), i);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    std::string shown = layer.size() > kMaxShown ? layer.substr(0, kMaxShown) + "... (" +
                                                       std::to_string(layer.size()) + " characters)"
                                                 : layer;
    std::string msg = "the model has no module '" + shown + "'";
    const char *spelling = "";
    std::string other = other_vit_spelling(layer, &spelling);
    if (!other.empty() && std::find(paths.begin(), paths.end(), other) != paths.end())
        msg += std::string("; in this model's spelling (") + spelling + ") that is '" + other + "'";
    if (!paths.empty()) {
        msg += "; closest:";
        for (size_t i = 0; i < ranked.size() && i < 5; i++)
            msg += (i ? ", " : " ") + paths[ranked[i].second];
    }
    throw Failure(EGCAM_E_INVALID_ARGUMENT, msg);
}

// Return (logits, extra...) from the graph instead of logits.
void return_tuple(Graph &graph, const std::vector<Value *> &extra)
{
    Value *logits = graph.outputs()[0];
    std::vector<Value *> items{logits};
    items.insert(items.end(), extra.begin(), extra.end());
    torch::jit::WithInsertPoint at_return(graph.return_node());
    Node *tuple = graph.insertNode(graph.createTuple(items));
    graph.eraseOutput(0);
    graph.registerOutput(tuple->output());
}

// Drop what only training mode runs from a graph of a module in eval mode:
// every module call inlined, every `self.training` read as false (load_model
// put each module in eval mode; a graph that sets attributes is left as it
// is), the branches on it folded, and what then computes nothing used
// removed. Scripted batch norm checks the batch size under `if
// self.training`, an op with a side effect that keeps everything below it
// alive; without this, a graph cut at a layer would still run the layers
// it no longer needs.
void drop_training_branches(std::shared_ptr<Graph> &graph)
{
    torch::jit::Inline(*graph);
    std::vector<Node *> reads;
    bool sets = false;
    std::function<void(torch::jit::Block *)> scan = [&](torch::jit::Block *b) {
        for (Node *n : b->nodes()) {
            if (n->kind() == prim::SetAttr)
                sets = true;
            if (n->kind() == prim::GetAttr && n->s(attr::name) == "training" &&
                n->output()->type() == c10::BoolType::get() && is_module(n->input(0)))
                reads.push_back(n);
            for (torch::jit::Block *sub : n->blocks())
                scan(sub);
        }
    };
    scan(graph->block());
    if (sets)
        return;
    for (Node *n : reads) {
        torch::jit::WithInsertPoint at(n);
        n->output()->replaceAllUsesWith(graph->insertConstant(false));
    }
    torch::jit::ConstantPropagation(graph);
    torch::jit::EliminateDeadCode(graph);
}

// Remove the nodes of [first, last] (one block, in order) whose outputs are
// unused, last first, side effects or not: the part of the model on the
// other side of the cut runs elsewhere, its checks included (batch norm's
// check of the input's rank raises, so dead-code elimination keeps it and
// the convolution before it).
void drop_other_side(Node *first, Node *last)
{
    std::vector<Node *> range;
    for (Node *n = first;; n = n->next()) {
        range.push_back(n);
        if (n == last)
            break;
    }
    for (auto it = range.rbegin(); it != range.rend(); ++it) {
        bool used = false;
        for (const Value *v : (*it)->outputs())
            used = used || v->hasUses();
        if (!used)
            (*it)->destroy();
    }
}

// Whether node, or a node in its blocks, reads a value of `from`.
bool reads(const Node *node, const std::set<const Value *> &from)
{
    for (const Value *v : node->inputs())
        if (from.count(v))
            return true;
    for (const torch::jit::Block *b : node->blocks())
        for (const Node *n : b->nodes())
            if (reads(n, from))
                return true;
    return false;
}

} // namespace

bool head_reads_below(const std::shared_ptr<Graph> &head)
{
    // cut_graph left the head inlined, without the side of the cut below
    // the layer: whatever still reads the input is a value the head needs.
    std::set<const Value *> from_x{head->inputs()[1]}, from_acts{head->inputs()[2]};
    for (const Node *node : head->nodes()) {
        bool on_x = reads(node, from_x), on_acts = reads(node, from_acts);
        for (const Value *out : node->outputs()) {
            if (on_x)
                from_x.insert(out);
            if (on_acts)
                from_acts.insert(out);
            if (on_x && !on_acts && out->type()->cast<c10::TensorType>())
                return true;
        }
    }
    return false;
}

std::vector<std::string> module_paths(const torch::jit::Module &module)
{
    std::vector<std::string> paths;
    for (const auto &item : module.named_modules())
        if (!item.name.empty())
            paths.push_back(item.name);
    return paths;
}

std::shared_ptr<Graph> cut_graph(const torch::jit::Module &module, const std::string &layer,
                                 CutMode mode, const std::string &output)
{
    std::vector<std::string> paths = module_paths(module);
    if (std::find(paths.begin(), paths.end(), layer) == paths.end())
        unknown_layer(module, layer);
    auto graph = forward_graph(module, output);
    ModuleIds ids(module);
    ModuleId target_id = ids(layer);
    std::set<ModuleId> above = holders(paths, target_id, ids);
    ModuleCall target{"", nullptr, false};
    inline_calls(
        graph,
        [&](const ModuleCall &c) { return ids(c.path) != target_id && above.count(ids(c.path)); },
        [&](const ModuleCall &c) {
            if (ids(c.path) == target_id && is_forward(c.node))
                target = c; // the last call wins, as a forward hook's would
        });
    if (!target.node)
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "module '" + layer + "' is never called by the model's forward");
    if (target.nested)
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "module '" + layer +
                          "' runs inside a branch or loop of the forward, so its output may not "
                          "exist; choose a module on the main path");
    Value *out = target.node->output();
    if (!out->type()->cast<c10::TensorType>())
        throw Failure(EGCAM_E_UNSUPPORTED, "module '" + layer + "' returns " +
                                               out->type()->repr_str() +
                                               "; choose a module whose output is one tensor");

    bool prune = false;
    {
        torch::jit::WithInsertPoint after(target.node->next());
        if (mode == CutMode::Activations) {
            // The layer's output is the graph's: what computes only the logits
            // from it has no use left, and goes (ops with side effects stay).
            Value *copy = graph->insert(aten::clone, {out});
            graph->eraseOutput(0);
            graph->registerOutput(copy);
            if (copy->node()->next() != graph->return_node())
                drop_other_side(copy->node()->next(), graph->return_node()->prev());
            prune = true;
        } else if (mode == CutMode::Head) {
            // The head reads a copy of the given activations, so that in-place
            // ops downstream never touch the caller's tensor (a leaf that
            // requires grad, which autograd would refuse to modify).
            // A new input is a Tensor, as the layer's output was checked to be
            // (Value::setType would pull in typeinfo LibTorch does not export).
            Value *given = graph->addInput("egcam_acts");
            Value *copy = graph->insert(aten::clone, {given});
            out->replaceAllUsesWith(copy);
            drop_other_side(graph->block()->nodes().front(), target.node);
            prune = true;
        } else if (mode == CutMode::Inference) {
            // A copy taken now: a later in-place op (ReLU(inplace=True)) cannot
            // change what we report as the layer's output.
            return_tuple(*graph, {graph->insert(aten::clone, {out})});
        } else {
            Value *detached = graph->insert(aten::detach, {out});
            Value *leaf = graph->insert(aten::requires_grad_, {detached, true});
            // The rest of the model reads a copy of the leaf, so in-place ops
            // downstream act on the copy and the leaf keeps the layer's values.
            Value *copy = graph->insert(aten::clone, {leaf});
            out->replaceAllUsesAfterNodeWith(copy->node(), copy);
            return_tuple(*graph, {leaf});
        }
    }
    // Not while the insert point above lives: it would point into nodes
    // the inlining replaces.
    if (prune)
        drop_training_branches(graph);
    return graph;
}

std::shared_ptr<Graph> graph_with_all_layers(const torch::jit::Module &module,
                                             const std::vector<std::string> &paths,
                                             std::vector<bool> &found, const std::string &output)
{
    auto graph = forward_graph(module, output);
    // Inline every module call, keeping a copy of each forward's result on
    // the main path: the copies come out of the graph next to the logits,
    // one per module object, under each of its names.
    ModuleIds ids(module);
    std::map<ModuleId, Value *> outputs;
    for (;;) {
        std::unordered_map<const Value *, std::string> vpaths{{graph->inputs()[0], ""}};
        bool changed = false;
        auto visit = [&](const ModuleCall &call) {
            if (call.nested || !is_forward(call.node)) {
                inline_call(call.node);
                return changed = true;
            }
            Node *node = call.node;
            bool tensor = node->outputs().size() == 1 &&
                          node->output()->type()->cast<c10::TensorType>() != nullptr;
            auto cls = node->input(0)->type()->expect<c10::ClassType>();
            std::vector<Value *> results = torch::jit::inlineCallTo(
                node, &torch::jit::toGraphFunction(cls->getMethod(node->s(attr::name))), false);
            if (tensor && results.size() == 1 && !ids(call.path).empty()) {
                torch::jit::WithInsertPoint after(results[0]->node()->next());
                // Keep a copy: later in-place ops must not touch it, and a
                // value that is also the graph's input needs its own node.
                outputs[ids(call.path)] = graph->insert(aten::clone, {results[0]});
            }
            return changed = true;
        };
        walk(graph->block(), vpaths, false, visit);
        if (!changed)
            break;
    }
    std::vector<Value *> extra;
    found.assign(paths.size(), false);
    for (size_t i = 0; i < paths.size(); i++) {
        auto it = ids(paths[i]).empty() ? outputs.end() : outputs.find(ids(paths[i]));
        if (it != outputs.end() && it->second->node()->owningBlock() == graph->block()) {
            found[i] = true;
            extra.push_back(it->second);
        }
    }
    return_tuple(*graph, extra);
    return graph;
}

} // namespace egcam_shim

// forward_graph.cpp - the forward graph, reduced to one image in and one
// tensor out (forward_graph.hpp): defaults filled in, an element of a tuple
// or dict result chosen. Every graph the backend cuts starts from this one.
#include "forward_graph.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include "egcam/egcam.h"

namespace egcam_shim
{

namespace
{

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;
namespace prim = c10::prim;
namespace aten = c10::aten;

// "a tensor", "a float", "an optional tensor": an argument's type in words.
std::string in_words(const c10::TypePtr &type)
{
    if (auto opt = type->cast<c10::OptionalType>())
        return "an optional " + in_words(opt->getElementType()).substr(2);
    if (type->cast<c10::TensorType>())
        return "a tensor";
    std::string name = type->repr_str();
    bool vowel = !name.empty() && std::string("aeiouAEIOU").find(name[0]) != std::string::npos;
    return std::string(vowel ? "an " : "a ") + name;
}

const char *ordinal(size_t i)
{
    static const char *const words[] = {"first", "second", "third", "fourth", "fifth"};
    return i < 5 ? words[i] : "next";
}

// Replace forward's arguments after x by their defaults.
void fill_defaults(Graph &graph, const c10::FunctionSchema &schema)
{
    const auto &args = schema.arguments(); // self, x, ...
    if (graph.inputs().size() < 2 || args.size() != graph.inputs().size())
        throw Failure(EGCAM_E_UNSUPPORTED,
                      "the model's forward takes no input; libegcam needs forward(x)");
    for (size_t i = graph.inputs().size(); i-- > 2;) {
        const c10::Argument &arg = args[i];
        if (!arg.default_value())
            throw Failure(EGCAM_E_UNSUPPORTED,
                          "the model's forward needs a " + std::string(ordinal(i - 1)) +
                              " argument besides the image, '" + arg.name() + "' (" +
                              in_words(arg.type()) +
                              "), and gives it no default; libegcam gives a model one image "
                              "tensor: script a module whose forward(x) calls this one with '" +
                              arg.name() + "' (docs/torch.md)");
        Value *given = graph.inputs()[i];
        Value *value = nullptr;
        {
            torch::jit::WithInsertPoint at(graph.block()->nodes().front());
            auto c = torch::jit::tryInsertConstant(graph, *arg.default_value());
            if (!c)
                throw Failure(EGCAM_E_UNSUPPORTED, "the model's forward argument '" + arg.name() +
                                                       "' has a default libegcam cannot fill in (" +
                                                       in_words(arg.type()) + ")");
            value = *c;
        }
        given->replaceAllUsesWith(value);
        graph.eraseInput(i);
    }
}

// The constant string keys the graph puts into dict d: its construction's
// and those of item assignments (result["out"] = x) to it.
std::vector<std::string> dict_keys(Value *d)
{
    std::vector<std::string> keys;
    auto add = [&](Value *key) {
        if (auto s = torch::jit::toIValue(key))
            if (s->isString())
                keys.push_back(s->toStringRef());
    };
    Node *made = d->node();
    if (made->kind() == prim::DictConstruct)
        for (size_t i = 0; i + 1 < made->inputs().size(); i += 2)
            add(made->inputs()[i]);
    for (const torch::jit::Use &use : d->uses())
        if (use.user->kind() == aten::_set_item && use.offset == 0)
            add(use.user->inputs()[1]);
    return keys;
}

std::string listed(const std::vector<std::string> &items)
{
    std::string s;
    for (size_t i = 0; i < items.size(); i++)
        s += (i ? ", '" : "'") + items[i] + "'";
    return s.empty() ? "none that can be read before running it" : s;
}

// The element `output` of forward's tuple or dict result.
Value *choose_output(Graph &graph, Value *out, const std::string &output)
{
    const c10::TypePtr &type = out->type();
    std::string what = "the model's forward returns " + type->repr_str();
    torch::jit::WithInsertPoint at(graph.return_node());
    if (auto tuple = type->cast<c10::TupleType>()) {
        const auto &elements = tuple->elements();
        std::string choices = "choose one of its " + std::to_string(elements.size()) +
                              " elements with --output INDEX (egcam_torch_options.output), "
                              "counting from 0";
        if (output.empty())
            throw Failure(EGCAM_E_UNSUPPORTED, what + ": " + choices);
        char *end = nullptr;
        unsigned long i = std::strtoul(output.c_str(), &end, 10);
        if (*end || output[0] == '-' || i >= elements.size())
            throw Failure(EGCAM_E_INVALID_ARGUMENT,
                          what + ", which has no element '" + output + "': " + choices);
        if (!elements[i]->cast<c10::TensorType>())
            throw Failure(EGCAM_E_UNSUPPORTED, what + ": its element " + output + " is " +
                                                   elements[i]->repr_str() +
                                                   ", not a tensor of logits");
        Node *index = graph.insertNode(graph.createTupleIndex(
            out, graph.insertConstant(static_cast<int64_t>(i)), elements[i]));
        return index->output();
    }
    if (auto dict = type->cast<c10::DictType>()) {
        std::vector<std::string> keys = dict_keys(out);
        if (!dict->getKeyType()->cast<c10::StringType>() ||
            !dict->getValueType()->cast<c10::TensorType>())
            throw Failure(EGCAM_E_UNSUPPORTED,
                          what + "; libegcam can choose a tensor from a Dict[str, Tensor] only");
        std::string choices = "choose one with --output KEY (egcam_torch_options.output); its "
                              "keys: " +
                              listed(keys);
        if (output.empty())
            throw Failure(EGCAM_E_UNSUPPORTED, what + ": " + choices);
        if (!keys.empty() && std::find(keys.begin(), keys.end(), output) == keys.end())
            throw Failure(EGCAM_E_INVALID_ARGUMENT,
                          what + ", which has no key '" + output + "': " + choices);
        return graph.insert(aten::__getitem__, {out, graph.insertConstant(output)});
    }
    throw Failure(EGCAM_E_UNSUPPORTED,
                  what + "; libegcam needs a forward that returns a tensor of logits [N, "
                         "classes] (or a tuple or dict holding one, chosen with --output)");
}

} // namespace

std::shared_ptr<Graph> forward_graph(const torch::jit::Module &module, const std::string &output)
{
    auto method = module.find_method("forward");
    if (!method)
        throw Failure(EGCAM_E_UNSUPPORTED, "the model has no forward method");
    torch::jit::Function &fn = method->function();
    auto graph = torch::jit::toGraphFunction(fn).graph()->copy();
    fill_defaults(*graph, fn.getSchema());
    if (graph->outputs().size() != 1)
        throw Failure(EGCAM_E_UNSUPPORTED, "the model's forward returns " +
                                               std::to_string(graph->outputs().size()) +
                                               " values; libegcam needs one tensor of logits");
    Value *out = graph->outputs()[0];
    if (out->type()->cast<c10::TensorType>()) {
        if (!output.empty())
            throw Failure(EGCAM_E_INVALID_ARGUMENT,
                          "the model's forward returns one tensor, so there is no output '" +
                              output + "' to choose: leave --output out");
        return graph;
    }
    Value *chosen = choose_output(*graph, out, output);
    graph->eraseOutput(0);
    graph->registerOutput(chosen);
    return graph;
}

} // namespace egcam_shim

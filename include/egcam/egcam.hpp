// egcam.hpp - libegcam from C++17: the C API of egcam.h and egcam_image.h
// (and egcam_torch.h, where it is installed) with owning handles, results
// that carry their errors, and views instead of pointer-and-count pairs.
//
//     egcam::context ctx;
//     egcam::backend model = egcam::backend::torch(ctx, "model.pt", "layer4").value();
//     egcam::tensor x = ctx.preprocess(ctx.read_png("cat.png").value(),
//                                      egcam::preprocess::imagenet()).value();
//     egcam::config cfg;                    // egcam_config, initialised
//     cfg.method = EGCAM_METHOD_EXPECTED;
//     egcam::result r = ctx.explain(model, cfg, x.view()).value();
//     egcam::map_view m = r.map(EGCAM_MAP_NORMALIZED);   // m.height, m.width, m[i]
//
// Errors, two ways, one API. Every call that can fail returns an
// egcam::outcome<T>: a T, or the egcam_status and the library's message.
// .value() gives the T or throws egcam::error (a std::runtime_error with
// the status); code that does not use exceptions tests ok() (or the
// outcome itself) and reads status() and message(). With exceptions turned
// off, .value() of a failure calls std::terminate(). Nothing here throws
// through the library: the C calls never throw, and the exceptions are made
// on this side of them.
//
// Ownership. context, backend, refset, result, tensor and image own what
// they hold and free it in their destructors (the egcam_*_free()
// functions); they move and do not copy. get() gives the C pointer for the
// calls not wrapped here, release() gives it away. A refset must be
// destroyed before its backend, as in C. Views (map_view, float_view,
// tensor_view) borrow: they are valid while their owner is.
//
// Threads: as in C (egcam.h): one context per thread, one call at a time
// on a backend.
//
// Progress: context::on_progress() takes any callable; one that throws
// stops the call it runs in (EGCAM_E_CANCELLED in C), and the exception
// comes out of that call on this side, after the library has returned.
//
// Exceptions on or off: everything here is in an inline namespace named
// for the mode (egcam::v1_eh or egcam::v1_noeh), so that code built both
// ways links without two different definitions under one name.
//
// Header-only; link the C libraries as usual (pkg-config egcam, or
// egcam-image / egcam-torch; CMake egcam::egcam, egcam::image, egcam::torch).
#ifndef EGCAM_HPP
#define EGCAM_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L && __has_include(<span>)
#  include <span>
#  define EGCAM_HPP_SPAN 1
#endif

#include "egcam.h"
#include "egcam_image.h"
#if __has_include("egcam_torch.h")
#  include "egcam_torch.h"
#  define EGCAM_HPP_TORCH 1
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#  define EGCAM_HPP_EXCEPTIONS 1
#  define EGCAM_HPP_MODE       v1_eh
#else
#  define EGCAM_HPP_MODE v1_noeh
#endif

namespace egcam
{
inline namespace EGCAM_HPP_MODE
{

// ---- errors ---------------------------------------------------------------

/// A failed call: its status; what() is the status's name, then the
/// library's message ("shapes do not match: the input has 5 dimensions...").
class error : public std::runtime_error
{
  public:
    error(egcam_status status, const std::string &message)
        : std::runtime_error(std::string(egcam_status_string(status)) + ": " + message),
          status_(status)
    {
    }
    egcam_status status() const noexcept { return status_; }

  private:
    egcam_status status_;
};

namespace detail
{
[[noreturn]] inline void raise(egcam_status status, const std::string &message)
{
#ifdef EGCAM_HPP_EXCEPTIONS
    throw error(status, message);
#else
    (void)status, (void)message;
    std::terminate();
#endif
}
} // namespace detail

/// A T, or why there is none: status() is EGCAM_OK exactly when there is.
template <class T> class [[nodiscard]] outcome
{
  public:
    outcome(T value) : value_(std::move(value)) {}
    outcome(egcam_status status, std::string message)
        : status_(status), message_(std::move(message))
    {
    }
    bool         ok() const noexcept { return status_ == EGCAM_OK; }
    explicit     operator bool() const noexcept { return ok(); }
    egcam_status status() const noexcept { return status_; }
    /// The library's message ("" when ok()).
    const std::string &message() const noexcept { return message_; }
    /// The value; throws egcam::error when there is none.
    T &value() &
    {
        check();
        return value_;
    }
    const T &value() const &
    {
        check();
        return value_;
    }
    T &&value() &&
    {
        check();
        return std::move(value_);
    }
    T *operator->() { return &value(); }
    T &operator*() & { return value(); }

  private:
    void check() const
    {
        if (!ok())
            detail::raise(status_, message_);
    }
    T            value_{};
    egcam_status status_ = EGCAM_OK;
    std::string  message_;
};

// ---- views ----------------------------------------------------------------

/// size() floats at data(), borrowed from their owner.
class float_view
{
  public:
    float_view() = default;
    float_view(const float *data, std::size_t size) : data_(data), size_(data ? size : 0) {}
    const float *data() const noexcept { return data_; }
    std::size_t  size() const noexcept { return size_; }
    bool         empty() const noexcept { return size_ == 0; }
    const float *begin() const noexcept { return data_; }
    const float *end() const noexcept { return data_ + size_; }
    float        operator[](std::size_t i) const noexcept { return data_[i]; }
#ifdef EGCAM_HPP_SPAN
    operator std::span<const float>() const noexcept { return {data_, size_}; }
#endif

  private:
    const float *data_ = nullptr;
    std::size_t  size_ = 0;
};

/// A map, row-major: height x width floats.
class map_view : public float_view
{
  public:
    map_view() = default;
    map_view(const float *data, std::uint32_t height, std::uint32_t width)
        : float_view(data, std::size_t(height) * width), height(data ? height : 0),
          width(data ? width : 0)
    {
    }
    float at(std::uint32_t row, std::uint32_t col) const noexcept
    {
        return (*this)[std::size_t(row) * width + col];
    }
    std::uint32_t height = 0, width = 0;
};

/// A borrowed input: dense float32 data in C order and its shape (1 to 4
/// dimensions; more are refused by the library, as any bad shape is).
class tensor_view
{
  public:
    tensor_view() : t_{nullptr, {0, 0, 0, 0}, 0, 0} {}
    tensor_view(const float *data, std::initializer_list<std::int64_t> shape)
        : t_{data, {0, 0, 0, 0}, std::uint32_t(shape.size()), 0}
    {
        std::size_t i = 0;
        for (std::int64_t s : shape)
            if (i < 4)
                t_.shape[i++] = s;
    }
    explicit tensor_view(const egcam_tensor &t) : t_(t) {}
    const egcam_tensor *get() const noexcept { return &t_; }
    const float        *data() const noexcept { return t_.data; }
    std::uint32_t       ndim() const noexcept { return t_.ndim; }
    std::int64_t        shape(std::uint32_t i) const noexcept { return i < 4 ? t_.shape[i] : 0; }

  private:
    egcam_tensor t_;
};

// ---- settings: the C structs, initialised ---------------------------------

/// egcam_config with its defaults (egcam_config_init()); set fields as in C.
struct config : egcam_config {
    config() noexcept
    {
        egcam_status st = egcam_config_init_sized(this, sizeof(egcam_config));
        (void)st; /* cannot fail: the size is this header's */
    }
};

/// egcam_preprocess with its defaults: identity, or imagenet().
struct preprocess : egcam_preprocess {
    preprocess() noexcept
    {
        egcam_status st = egcam_preprocess_init_sized(this, sizeof(egcam_preprocess));
        (void)st;
    }
    /// torchvision's evaluation transform: Resize(256), CenterCrop(224),
    /// ImageNet's mean and std, 3 channels.
    static preprocess imagenet() noexcept
    {
        preprocess   p;
        egcam_status st = egcam_preprocess_init_imagenet_sized(&p, sizeof(egcam_preprocess));
        (void)st;
        p.resize = 256;
        p.width = p.height = 224;
        return p;
    }
};

// ---- owning handles ---------------------------------------------------------

namespace detail
{
template <class T, void (*Free)(T *)> struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T *)> class handle
{
  public:
    handle() = default;
    explicit handle(T *p) noexcept : p_(p) {}
    T       *get() const noexcept { return p_.get(); }
    T       *release() noexcept { return p_.release(); }
    explicit operator bool() const noexcept { return p_ != nullptr; }

  private:
    std::unique_ptr<T, deleter<T, Free>> p_;
};
} // namespace detail

/// A tensor the library made (egcam_tensor_new(), a preprocessed image, a
/// .npy file).
class tensor : public detail::handle<egcam_tensor, egcam_tensor_free>
{
  public:
    using handle::handle;
    tensor_view view() const noexcept { return get() ? tensor_view(*get()) : tensor_view(); }
    /// Its data, to write into a tensor made by context::make_tensor().
    float *data() noexcept { return get() ? const_cast<float *>(get()->data) : nullptr; }
};

/// An 8-bit image (egcam_image.h).
class image : public detail::handle<egcam_image, egcam_image_free>
{
  public:
    using handle::handle;
    std::uint32_t width() const noexcept { return get() ? get()->width : 0; }
    std::uint32_t height() const noexcept { return get() ? get()->height : 0; }
    std::uint32_t channels() const noexcept { return get() ? get()->channels : 0; }
};

class context;

/// A model cut at its layer: made by backend::torch(), or adopted from
/// egcam_backend_new() or egcam_torch_open().
class backend : public detail::handle<egcam_backend, egcam_backend_free>
{
  public:
    using handle::handle;
    const char *name() const noexcept { return egcam_backend_name(get()); }
#ifdef EGCAM_HPP_TORCH
    /// egcam_torch_open(): a TorchScript file cut at `layer`.
    static outcome<backend> torch(context &ctx, const std::string &model_path,
                                  const std::string         &layer,
                                  const egcam_torch_options *options = nullptr);
#endif
};

/// References with their activations, for one backend (egcam_refset_new()).
class refset : public detail::handle<egcam_refset, egcam_refset_free>
{
  public:
    using handle::handle;
    std::uint32_t count() const noexcept { return egcam_refset_count(get()); }
};

/// One explanation: maps, weights, class, logits, completeness.
class result : public detail::handle<egcam_result, egcam_result_free>
{
  public:
    using handle::handle;
    /// EGCAM_MAP_LAYER, _INPUT, _NORMALIZED or _SIGNED (empty if unknown).
    map_view map(std::uint32_t kind) const noexcept
    {
        std::uint32_t h = 0, w = 0;
        const float  *m = egcam_result_map(get(), kind, &h, &w);
        return {m, h, w};
    }
    /// The channel weights; empty for combiners without them.
    float_view weights() const noexcept
    {
        std::uint32_t n = 0;
        const float  *w = egcam_result_weights(get(), &n);
        return {w, n};
    }
    /// All of the input's logits, and their softmax.
    float_view logits() const noexcept
    {
        std::uint32_t n = 0;
        const float  *l = egcam_result_logits(get(), &n);
        return {l, n};
    }
    float_view probabilities() const noexcept
    {
        std::uint32_t n = 0;
        const float  *p = egcam_result_probabilities(get(), &n);
        return {p, n};
    }
    /// The class explained (-1 for a seed vector).
    std::int32_t  class_index() const noexcept { return egcam_result_class(get()); }
    double        logit() const noexcept { return egcam_result_logit(get()); }
    double        completeness() const noexcept { return egcam_result_completeness(get()); }
    std::uint32_t flags() const noexcept { return egcam_result_flags(get()); }
    std::uint32_t combiner() const noexcept { return egcam_result_combiner(get()); }
};

/// What an explanation costs, in backend rows (egcam_explain_cost()).
struct cost {
    std::uint64_t forward_rows = 0, backward_rows = 0, reference_rows = 0;
};

// ---- the context, and the calls made through it -----------------------------

/// A progress hook: the samples done so far and the total; return false
/// to stop the call.
using progress_fn = std::function<bool(std::uint64_t done, std::uint64_t total)>;

/// Per-thread state: the last error and the progress hook. Every call that
/// can fail is made through one.
class context : public detail::handle<egcam_ctx, egcam_ctx_free>
{
  public:
    /// A new context; throws std::bad_alloc when memory runs out (with
    /// exceptions off: an empty context, whose calls fail with
    /// EGCAM_E_NULL_ARGUMENT).
    context() : handle(make()) {}
    /// The message of the last failed call ("" after a success).
    const char *last_error() const noexcept { return egcam_ctx_last_error(get()); }

    /// egcam_ctx_set_progress(): fn is called on this thread after each
    /// batch of explain(), explain_many() and make_refset() (the last
    /// batch too: false then discards a finished result); returning false
    /// stops the call with EGCAM_E_CANCELLED. An empty fn removes the hook.
    /// If fn throws, the call stops and rethrows it once the library has
    /// returned (what the call made is freed first). In a C call made
    /// through get() (egcam_eval_sensitivity(), say) a throw only cancels:
    /// it is not rethrown there, nor by a later call. fn must not call into
    /// this context (on_progress() included). The hook moves with the
    /// context; release() removes it.
    [[nodiscard]] egcam_status on_progress(progress_fn fn)
    {
        if (!fn) {
            egcam_status st = egcam_ctx_set_progress(get(), nullptr, nullptr);
            progress_.reset();
            return st;
        }
        auto hook       = std::make_unique<progress_state>();
        hook->fn        = std::move(fn);
        egcam_status st = egcam_ctx_set_progress(get(), &context::trampoline, hook.get());
        if (st == EGCAM_OK)
            progress_ = std::move(hook);
        return st;
    }

    /// The C context, given away: its progress hook (which lives here) is
    /// removed first.
    egcam_ctx *release() noexcept
    {
        if (progress_) {
            egcam_status st = egcam_ctx_set_progress(get(), nullptr, nullptr);
            (void)st; /* cannot fail: the context is there */
            progress_.reset();
        }
        return handle::release();
    }

    /// egcam_explain(): one input.
    outcome<result> explain(backend &model, const egcam_config &cfg, const tensor_view &input,
                            const refset *refs = nullptr)
    {
        egcam_result *r = nullptr;
        forget_progress_throw();
        egcam_status st =
            egcam_explain(get(), model.get(), &cfg, input.get(), refs ? refs->get() : nullptr, &r);
        return done_after_progress(st, result(r));
    }

    /// egcam_explain_many(): inputs.size() images (each [C, H, W] or
    /// [n, C, H, W], one shape), `targets` each, from `classes` (B x T
    /// entries, or empty for cfg's targets). Entry b * targets + t is image
    /// b's result for target t, or that image's own failure; the outer
    /// outcome fails when the call does.
    outcome<std::vector<outcome<result>>>
    explain_many(backend &model, const egcam_config &cfg, const std::vector<tensor_view> &inputs,
                 std::uint32_t targets = 1, const std::vector<std::int32_t> &classes = {},
                 const refset *refs = nullptr)
    {
        std::vector<egcam_tensor> ts;
        std::size_t               images = 0;
        for (const tensor_view &v : inputs) {
            if (v.ndim() == 4 && (v.shape(0) <= 0 || v.shape(0) > (std::int64_t(1) << 20)))
                return {EGCAM_E_INVALID_ARGUMENT,
                        "explain_many: an input of shape [n, C, H, W] with n = " +
                            std::to_string(v.shape(0))};
            ts.push_back(*v.get());
            images += v.ndim() == 4 ? std::size_t(v.shape(0)) : 1;
        }
        if (!classes.empty() && classes.size() != images * targets)
            return {EGCAM_E_INVALID_ARGUMENT, "explain_many: " + std::to_string(classes.size()) +
                                                  " classes for " + std::to_string(images) +
                                                  " images of " + std::to_string(targets) +
                                                  " targets; give images x targets, or none"};
        std::vector<egcam_result *> out(images * targets, nullptr);
        std::vector<egcam_status>   statuses(images, EGCAM_OK);
        std::vector<result>         owned; // made room for first: owning them cannot fail
        owned.reserve(out.size());
        forget_progress_throw();
        egcam_status st = egcam_explain_many(
            get(), model.get(), &cfg, ts.empty() ? nullptr : ts.data(), std::uint32_t(ts.size()),
            classes.empty() ? nullptr : classes.data(), targets, refs ? refs->get() : nullptr,
            out.empty() ? nullptr : out.data(), statuses.empty() ? nullptr : statuses.data());
        // Own the C results first, so that nothing leaks if what follows throws.
        for (egcam_result *r : out)
            owned.emplace_back(r);
        rethrow_from_progress();
        // A NaN image or a missing class fails that image alone, with its own
        // message; the same statuses from the call's own checks (a NaN noise
        // level) fail the call, and then no image has a message.
        bool own_failures = false;
        if (st == EGCAM_E_NON_FINITE || st == EGCAM_E_CLASS_OUT_OF_RANGE)
            for (std::size_t b = 0; b < images && !own_failures; b++)
                own_failures = egcam_ctx_input_error(get(), b)[0] != '\0';
        if (st != EGCAM_OK && !own_failures)
            return {st, last_error()};
        std::vector<outcome<result>> results;
        results.reserve(owned.size());
        for (std::size_t i = 0; i < owned.size(); i++) {
            std::size_t b = i / (targets ? targets : 1);
            if (owned[i])
                results.emplace_back(std::move(owned[i]));
            else
                results.emplace_back(statuses[b] != EGCAM_OK ? statuses[b] : st,
                                     egcam_ctx_input_error(get(), b));
        }
        return outcome<std::vector<outcome<result>>>(std::move(results));
    }

    /// egcam_explain_cost(): the rows egcam_explain() would take.
    outcome<cost>
    explain_cost(const egcam_config &cfg, const tensor_view &input, const refset *refs = nullptr)
    {
        cost         c;
        egcam_status st = egcam_explain_cost(get(), &cfg, input.get(), refs ? refs->get() : nullptr,
                                             &c.forward_rows, &c.backward_rows, &c.reference_rows);
        return done(st, c);
    }

    /// egcam_result_combine(): the same passes, another combiner.
    outcome<result> combine(const result &res, std::uint32_t combiner)
    {
        egcam_result *r  = nullptr;
        egcam_status  st = egcam_result_combine(get(), res.get(), combiner, &r);
        return done(st, result(r));
    }

    /// egcam_refset_new(): references [R, C, H, W] forwarded once.
    outcome<refset>
    make_refset(backend &model, const tensor_view &refs, std::uint32_t batch_size = 0)
    {
        egcam_refset *r = nullptr;
        forget_progress_throw();
        egcam_status st = egcam_refset_new(get(), model.get(), refs.get(), batch_size, &r);
        return done_after_progress(st, refset(r));
    }

    /// egcam_tensor_new(): zeros of this shape, to fill through data().
    outcome<tensor> make_tensor(std::initializer_list<std::int64_t> shape)
    {
        std::int64_t s[4] = {0, 0, 0, 0};
        std::size_t  i    = 0;
        for (std::int64_t v : shape)
            if (i < 4)
                s[i++] = v;
        egcam_tensor *t  = nullptr;
        egcam_status  st = egcam_tensor_new(get(), s, std::uint32_t(shape.size()), &t);
        return done(st, tensor(t));
    }

    /// egcam_png_read(): channels 1, 3, or 0 for as stored.
    outcome<image> read_png(const std::string &path, std::uint32_t channels = 0)
    {
        egcam_image *img = nullptr;
        egcam_status st  = egcam_png_read(get(), path.c_str(), channels, &img);
        return done(st, image(img));
    }

    /// egcam_npy_read(): a float32 tensor.
    outcome<tensor> read_npy(const std::string &path)
    {
        egcam_tensor *t  = nullptr;
        egcam_status  st = egcam_npy_read(get(), path.c_str(), &t);
        return done(st, tensor(t));
    }

    /// egcam_preprocess_image(): an image as a model's input [C, H, W].
    outcome<tensor> preprocess(const image &img, const egcam_preprocess &p)
    {
        egcam_tensor *t  = nullptr;
        egcam_status  st = egcam_preprocess_image(get(), img.get(), &p, &t);
        return done(st, tensor(t));
    }

  private:
    static egcam_ctx *make()
    {
        egcam_ctx *c = nullptr;
        if (egcam_ctx_new(&c) != EGCAM_OK) {
#ifdef EGCAM_HPP_EXCEPTIONS
            throw std::bad_alloc();
#endif
        }
        return c;
    }
    // What the C hook points at: on the heap, so that it stays put when the
    // context moves.
    struct progress_state {
        progress_fn        fn;
        std::exception_ptr thrown;
    };
    static int trampoline(void *user, std::uint64_t done, std::uint64_t total) noexcept
    {
        auto *hook = static_cast<progress_state *>(user);
#ifdef EGCAM_HPP_EXCEPTIONS
        try {
            return hook->fn(done, total) ? 0 : 1;
        } catch (...) {
            hook->thrown = std::current_exception();
            return 1;
        }
#else
        return hook->fn(done, total) ? 0 : 1;
#endif
    }
    // Before a call that may run the hook: a throw left by a C call made
    // through get() is not this call's.
    void forget_progress_throw() noexcept
    {
        if (progress_)
            progress_->thrown = nullptr;
    }
    // After it: what the hook threw, thrown here.
    void rethrow_from_progress()
    {
        if (progress_ && progress_->thrown) {
            std::exception_ptr e = progress_->thrown;
            progress_->thrown    = nullptr;
            std::rethrow_exception(e);
        }
    }
    template <class T> outcome<T> done(egcam_status st, T value)
    {
        if (st != EGCAM_OK)
            return {st, last_error()};
        return outcome<T>(std::move(value));
    }
    // value is made (owned) before this is called, so a rethrow frees it.
    template <class T> outcome<T> done_after_progress(egcam_status st, T value)
    {
        rethrow_from_progress();
        return done(st, std::move(value));
    }

    std::unique_ptr<progress_state> progress_;
};

#ifdef EGCAM_HPP_TORCH
inline outcome<backend> backend::torch(context &ctx, const std::string &model_path,
                                       const std::string &layer, const egcam_torch_options *options)
{
    egcam_backend *b  = nullptr;
    egcam_status   st = egcam_torch_open(ctx.get(), model_path.c_str(), layer.c_str(), options, &b);
    if (st != EGCAM_OK)
        return {st, ctx.last_error()};
    return backend(b);
}
#endif

} // namespace EGCAM_HPP_MODE
} // namespace egcam

#endif // EGCAM_HPP

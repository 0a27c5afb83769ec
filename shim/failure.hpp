// failure.hpp - the one exception the shim throws on purpose: a failure the
// user can act on, with the egcam_status it maps to. egcam_torch.cpp turns
// it, and every other exception, into a status and a message at the C
// boundary.
#ifndef EGCAM_SHIM_FAILURE_HPP
#define EGCAM_SHIM_FAILURE_HPP

#include <stdexcept>
#include <string>

namespace egcam_shim
{

struct Failure : std::runtime_error {
    int status;
    Failure(int st, const std::string &msg) : std::runtime_error(msg), status(st) {}
};

// LibTorch 1.13 reports a failed CPU allocation as a plain c10::Error
// (only CUDA has c10::OutOfMemoryError), and the TorchScript interpreter
// rethrows it as a std::runtime_error: tell them by their words.
inline bool says_out_of_memory(const std::string &what)
{
    return what.find("can't allocate memory") != std::string::npos ||
           what.find("not enough memory") != std::string::npos ||
           what.find("out of memory") != std::string::npos;
}

} // namespace egcam_shim

#endif

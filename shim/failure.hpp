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

} // namespace egcam_shim

#endif

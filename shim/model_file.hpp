// model_file.hpp - a TorchScript file, checked before LibTorch reads it.
//
// LibTorch 1.13 trusts its input: it checks no CRC, inflates every record
// it finds to the size the archive declares, and a damaged code record can
// crash its parser. So the archive is verified first, with libzip: the
// central directory against every local header, every record's CRC-32 and
// sizes, and the total size the records declare against a limit. LibTorch
// then reads the same open file, with its debug records (*.debug_pkl,
// source ranges for tracebacks, which it would otherwise inflate in full)
// hidden from it. What is not checked: that the TorchScript code in a
// whole archive is well formed. A model file is code; see docs/torch.md.
#ifndef EGCAM_SHIM_MODEL_FILE_HPP
#define EGCAM_SHIM_MODEL_FILE_HPP

#include <cstdint>
#include <memory>
#include <string>

#include <caffe2/serialize/read_adapter_interface.h>

namespace egcam_shim
{

// The limit on the bytes a model's records may declare uncompressed, in
// all, when the caller sets none: twice the file's size plus 64 MiB (the
// tensors are stored, the code deflated a few times over), at most 16 GiB.
uint64_t default_model_limit(uint64_t file_size);

// Open and verify path; the reader serves its bytes to torch::jit::load.
// max_bytes 0 means default_model_limit(). Throws Failure: EGCAM_E_IO (a
// missing, unreadable or non-regular file), EGCAM_E_FORMAT (not a zip
// archive, inconsistent, a CRC or size mismatch, encrypted records, or
// more declared bytes than the limit: the message names the limit and
// egcam_torch_options.max_model_bytes).
std::shared_ptr<caffe2::serialize::ReadAdapterInterface> open_model_file(const std::string &path,
                                                                         uint64_t max_bytes);

} // namespace egcam_shim

#endif

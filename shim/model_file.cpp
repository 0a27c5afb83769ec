// model_file.cpp - verify a TorchScript archive with libzip, then serve it
// to LibTorch with its debug records hidden (model_file.hpp).
#include "model_file.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "egcam/egcam.h"
#include "failure.hpp"

namespace egcam_shim
{

namespace
{

constexpr uint64_t kMiB = uint64_t(1) << 20;
constexpr uint64_t kDefaultCap = uint64_t(16) << 30;

bool ends_with(const std::string &s, const char *suffix)
{
    size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Records LibTorch reads only for tracebacks.
bool is_debug_record(const std::string &name) { return ends_with(name, ".debug_pkl"); }

std::string bytes_text(uint64_t n)
{
    char buf[64];
    if (n >= kMiB)
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / kMiB);
    else
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
    return buf;
}

struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0)
            close(fd);
    }
};

struct Archive {
    zip_t *za = nullptr;
    ~Archive()
    {
        if (za)
            zip_discard(za);
    }
};

bool pread_all(int fd, uint64_t pos, void *buf, size_t n)
{
    char *p = static_cast<char *>(buf);
    while (n > 0) {
        ssize_t got = pread(fd, p, n, static_cast<off_t>(pos));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        p += got, pos += static_cast<uint64_t>(got), n -= static_cast<size_t>(got);
    }
    return true;
}

uint64_t le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

// The file offsets of the central directory's file names, in its order,
// from the end-of-central-directory record (ZIP64 when present, as
// PyTorch writes it). Used only after libzip has verified the archive, to
// place the bytes to hide; an empty result means "do not hide anything".
struct NameSpan {
    uint64_t offset;
    size_t length;
};

std::vector<NameSpan> central_names(int fd, uint64_t size, size_t entries)
{
    std::vector<NameSpan> names;
    size_t tail = static_cast<size_t>(size < 65557 + 20 ? size : 65557 + 20);
    std::vector<unsigned char> end(tail);
    if (tail < 22 || !pread_all(fd, size - tail, end.data(), tail))
        return {};
    size_t eocd = tail - 22 + 1;
    while (eocd-- > 0)
        if (le(&end[eocd], 4) == 0x06054b50)
            break;
    if (eocd == static_cast<size_t>(-1))
        return {};
    uint64_t cd_offset = le(&end[eocd + 16], 4), cd_size = le(&end[eocd + 12], 4);
    if (eocd >= 20 && le(&end[eocd - 20], 4) == 0x07064b50) { // ZIP64 locator
        unsigned char z64[56];
        uint64_t at = le(&end[eocd - 20 + 8], 8);
        if (at > size - sizeof z64 || !pread_all(fd, at, z64, sizeof z64) ||
            le(z64, 4) != 0x06064b50)
            return {};
        cd_size = le(z64 + 40, 8);
        cd_offset = le(z64 + 48, 8);
    }
    if (cd_offset > size || cd_size > size - cd_offset || cd_size > (uint64_t(1) << 30))
        return {};
    std::vector<unsigned char> cd(static_cast<size_t>(cd_size));
    if (!pread_all(fd, cd_offset, cd.data(), cd.size()))
        return {};
    size_t at = 0;
    for (size_t i = 0; i < entries; i++) {
        if (at + 46 > cd.size() || le(&cd[at], 4) != 0x02014b50)
            return {};
        size_t n = le(&cd[at + 28], 2), m = le(&cd[at + 30], 2), k = le(&cd[at + 32], 2);
        if (at + 46 + n + m + k > cd.size())
            return {};
        names.push_back({cd_offset + at + 46, n});
        at += 46 + n + m + k;
    }
    return names;
}

// The file, as LibTorch is to see it: the bytes on disk, except that the
// last letter of each hidden record's name in the central directory reads
// '~', so that LibTorch's lookup of "*.debug_pkl" finds nothing.
class ModelReader final : public caffe2::serialize::ReadAdapterInterface
{
  public:
    ModelReader(int fd, uint64_t size, std::vector<uint64_t> hidden)
        : fd_(fd), size_(size), hidden_(std::move(hidden))
    {
    }
    ~ModelReader() override { close(fd_); }
    size_t size() const override { return static_cast<size_t>(size_); }
    size_t read(uint64_t pos, void *buf, size_t n, const char *) const override
    {
        if (pos >= size_)
            return 0;
        if (n > size_ - pos)
            n = static_cast<size_t>(size_ - pos);
        if (!pread_all(fd_, pos, buf, n))
            return 0;
        for (uint64_t at : hidden_)
            if (at >= pos && at < pos + n)
                static_cast<char *>(buf)[at - pos] = '~';
        return n;
    }

  private:
    int fd_;
    uint64_t size_;
    std::vector<uint64_t> hidden_;
};

[[noreturn]] void not_a_model(const std::string &path, const std::string &why)
{
    throw Failure(EGCAM_E_FORMAT, path + " is not a TorchScript model (" + why + ")");
}

// What to do with the file people pass most often instead of a model.
[[noreturn]] void a_checkpoint(const std::string &path, const std::string &what)
{
    throw Failure(EGCAM_E_FORMAT,
                  path + " " + what +
                      ", not a TorchScript model: libegcam runs models exported with "
                      "torch.jit.script(model) or torch.jit.trace(model, example_input) and saved "
                      "with torch.jit.save (docs/torch.md, \"The model, and exporting one from "
                      "PyTorch\")");
}

// torch.save's legacy format: a pickle (protocol 2) of its magic number.
bool is_legacy_checkpoint(int fd)
{
    unsigned char head[3];
    return pread_all(fd, 0, head, sizeof head) && head[0] == 0x80 && head[1] == 0x02 &&
           head[2] == 0x8a;
}

// torch.save writes the zip layout TorchScript uses, with the pickled object
// in data.pkl and no code: a state_dict, or a module pickled whole.
bool is_zip_checkpoint(const std::vector<zip_stat_t> &stats)
{
    bool data = false, code = false;
    for (const zip_stat_t &sb : stats) {
        const char *slash = std::strchr(sb.name, '/');
        std::string rest = slash ? slash + 1 : sb.name;
        data = data || rest == "data.pkl";
        code = code || rest == "constants.pkl" || rest.compare(0, 5, "code/") == 0;
    }
    return data && !code;
}

// Read record i through libzip, which checks its CRC-32 at the end; its
// size must be the one the central directory declares.
void verify_record(zip_t *za, zip_uint64_t i, const zip_stat_t &sb, const std::string &path)
{
    zip_file_t *f = zip_fopen_index(za, i, 0);
    if (!f)
        throw Failure(EGCAM_E_FORMAT,
                      path + ": record '" + sb.name + "' cannot be read: " + zip_strerror(za));
    std::vector<char> chunk(1 << 16);
    uint64_t total = 0;
    zip_int64_t got;
    while ((got = zip_fread(f, chunk.data(), chunk.size())) > 0) {
        total += static_cast<uint64_t>(got);
        if (total > sb.size)
            break;
    }
    std::string err = got < 0 ? zip_file_strerror(f) : "";
    zip_fclose(f);
    if (got < 0)
        throw Failure(EGCAM_E_FORMAT, path + ": record '" + sb.name + "' is damaged (" + err +
                                          "); the file is not the model that was saved");
    if (total != sb.size)
        throw Failure(EGCAM_E_FORMAT, path + ": record '" + sb.name + "' holds " +
                                          bytes_text(total) + ", not the " + bytes_text(sb.size) +
                                          " its directory declares");
}

} // namespace

uint64_t default_model_limit(uint64_t file_size)
{
    uint64_t limit = file_size < kDefaultCap ? 2 * file_size + 64 * kMiB : kDefaultCap;
    return limit < kDefaultCap ? limit : kDefaultCap;
}

std::shared_ptr<caffe2::serialize::ReadAdapterInterface> open_model_file(const std::string &path,
                                                                         uint64_t max_bytes)
{
    Fd file;
    file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd < 0)
        throw Failure(EGCAM_E_IO, path + ": " + std::strerror(errno));
    struct stat st;
    if (fstat(file.fd, &st) != 0)
        throw Failure(EGCAM_E_IO, path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw Failure(EGCAM_E_IO, path + ": not a regular file");
    uint64_t size = static_cast<uint64_t>(st.st_size);

    Archive archive;
    // zip_fdopen takes a descriptor of its own (a dup) and closes the one it
    // is given on success only: on failure that one is still ours to close.
    Fd for_zip;
    if ((for_zip.fd = dup(file.fd)) < 0)
        throw Failure(EGCAM_E_IO, path + ": " + std::strerror(errno));
    int zerr = 0;
    archive.za = zip_fdopen(for_zip.fd, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (archive.za)
        for_zip.fd = -1;
    else {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        std::string why = zip_error_strerror(&e);
        zip_error_fini(&e);
        if (zerr == ZIP_ER_MEMORY)
            throw std::bad_alloc();
        if (zerr == ZIP_ER_NOZIP && is_legacy_checkpoint(file.fd))
            a_checkpoint(path, "was saved with torch.save in its legacy format (a state_dict or "
                               "a pickled module)");
        not_a_model(path, "zip archive: " + why);
    }
    zip_int64_t count = zip_get_num_entries(archive.za, 0);
    if (count <= 0)
        not_a_model(path, "an empty archive");

    // Sizes first, from the directory, before anything is inflated.
    std::vector<zip_stat_t> stats(static_cast<size_t>(count));
    for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); i++) {
        zip_stat_t &sb = stats[i];
        zip_stat_init(&sb);
        if (zip_stat_index(archive.za, i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_NAME) ||
            !(sb.valid & ZIP_STAT_SIZE))
            not_a_model(path, std::string("record ") + std::to_string(i) + ": " +
                                  zip_strerror(archive.za));
        if ((sb.valid & ZIP_STAT_ENCRYPTION_METHOD) && sb.encryption_method != ZIP_EM_NONE)
            not_a_model(path, std::string("record '") + sb.name + "' is encrypted");
        // LibTorch's reader (miniz) takes a record whose name ends in '/' or
        // whose MS-DOS attributes say "directory" for a folder, and reads
        // it as empty: no record of a model is one.
        zip_uint8_t opsys;
        zip_uint32_t attributes = 0;
        size_t name_len = std::strlen(sb.name);
        if ((name_len && sb.name[name_len - 1] == '/') ||
            (zip_file_get_external_attributes(archive.za, i, 0, &opsys, &attributes) == 0 &&
             (attributes & 0x10)))
            not_a_model(path, std::string("record '") + sb.name + "' is marked as a folder");
    }
    if (is_zip_checkpoint(stats))
        a_checkpoint(path, "was saved with torch.save (a state_dict or a pickled module)");
    // Where the names of the records to hide sit; if the directory cannot
    // be placed, nothing is hidden and those records are verified too.
    std::vector<NameSpan> names = central_names(file.fd, size, stats.size());
    bool can_hide = names.size() == stats.size();
    for (size_t i = 0; can_hide && i < names.size(); i++) {
        size_t n = std::strlen(stats[i].name);
        char last = 0;
        can_hide = names[i].length == n && n > 0 &&
                   pread_all(file.fd, names[i].offset + n - 1, &last, 1) &&
                   last == stats[i].name[n - 1];
    }
    std::vector<bool> hide(stats.size());
    uint64_t declared = 0;
    for (size_t i = 0; i < stats.size(); i++) {
        hide[i] = can_hide && is_debug_record(stats[i].name);
        if (!hide[i])
            declared +=
                stats[i].size > UINT64_MAX - declared ? UINT64_MAX - declared : stats[i].size;
    }
    uint64_t limit = max_bytes ? max_bytes : default_model_limit(size);
    if (declared > limit)
        throw Failure(EGCAM_E_FORMAT,
                      path + ": the archive's records declare " + bytes_text(declared) +
                          " once inflated, from a file of " + bytes_text(size) + "; the limit is " +
                          bytes_text(limit) +
                          (max_bytes ? std::string(" (egcam_torch_options.max_model_bytes)")
                                     : std::string(" (2 x the file + 64 MiB; raise it with "
                                                   "egcam_torch_options.max_model_bytes)")));
    std::vector<uint64_t> hide_at;
    for (size_t i = 0; i < stats.size(); i++) {
        if (hide[i])
            hide_at.push_back(names[i].offset + names[i].length - 1);
        else
            verify_record(archive.za, i, stats[i], path);
    }
    auto reader = std::make_shared<ModelReader>(file.fd, size, std::move(hide_at));
    file.fd = -1; // the reader owns it now
    return reader;
}

} // namespace egcam_shim

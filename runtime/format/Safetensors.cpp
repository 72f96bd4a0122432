//===- Safetensors.cpp - .safetensors reader ------------------------------===//

#include "blockc/ModuleFormat/Safetensors.h"
#include "blockc/ModuleFormat/Error.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace json = boost::json;

namespace blockc {
namespace rt {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  rt::fail(BLOCKC_ERROR_WEIGHTS, path + ": " + what);
}

bool asU64(const json::value &v, uint64_t &out) {
  if (v.is_uint64()) {
    out = v.get_uint64();
    return true;
  }
  if (v.is_int64() && v.get_int64() >= 0) {
    out = static_cast<uint64_t>(v.get_int64());
    return true;
  }
  return false;
}

} // namespace

size_t dtypeSize(const std::string &dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4},  {"F16", 2},  {"BF16", 2}, {"I64", 8},     {"I32", 4},
      {"I16", 2}, {"I8", 1},   {"U64", 8},  {"U32", 4},  {"U16", 2},     {"U8", 1},
      {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  file->size_ = static_cast<size_t>(st.st_size);
  // Read, not mapped: what a module binds must not change or vanish with the file (a
  // checkpoint rewritten in place truncates it, and a mapped page past the new end kills
  // the reader with SIGBUS).
  file->bytes_.reset(new unsigned char[file->size_]);
  size_t done = 0;
  while (done < file->size_) {
    ssize_t n = ::read(fd, file->bytes_.get() + done, file->size_ - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      fail(path, n < 0 ? std::string("cannot read: ") + std::strerror(e)
                       : "the file shrank to " + std::to_string(done) + " bytes while it was "
                         "read (it had " + std::to_string(file->size_) + ")");
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  file->parse();
  return file;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::fromBytes(const void *bytes, size_t size,
                                                            const std::string &name) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = name;
  file->size_ = size;
  file->bytes_.reset(new unsigned char[size]);
  std::memcpy(file->bytes_.get(), bytes, size);
  file->parse();
  return file;
}

void SafetensorsFile::parse() {
  if (size_ < 8)
    fail(path_, "truncated header: the file has " + std::to_string(size_) +
                    " bytes, fewer than the 8-byte header length");
  const unsigned char *bytes = bytes_.get();
  uint64_t headerLength = 0;
  for (int i = 0; i < 8; ++i)
    headerLength |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (headerLength > size_ - 8)
    fail(path_, "header length " + std::to_string(headerLength) +
                    " goes past the end of the file (" + std::to_string(size_) + " bytes)");
  const size_t dataStart = 8 + static_cast<size_t>(headerLength);
  const uint64_t dataSize = size_ - dataStart;

  json::error_code ec;
  json::value header =
      json::parse(json::string_view(reinterpret_cast<const char *>(bytes + 8), headerLength), ec);
  if (ec)
    fail(path_, "header is not valid JSON: " + ec.message());
  if (!header.is_object())
    fail(path_, "header is not a JSON object");

  std::vector<const TensorEntry *> byOffset;
  for (const auto &kv : header.as_object()) {
    const std::string name(kv.key());
    if (name == "__metadata__") {
      if (!kv.value().is_object())
        fail(path_, "__metadata__ is not an object");
      for (const auto &m : kv.value().as_object()) {
        if (!m.value().is_string())
          fail(path_, "__metadata__ value '" + std::string(m.key()) + "' is not a string");
        metadata_[std::string(m.key())] = std::string(m.value().as_string());
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!kv.value().is_object())
      fail(path_, where + "entry is not an object");
    const json::object &t = kv.value().as_object();
    TensorEntry entry;
    entry.name = name;

    const json::value *dtype = t.if_contains("dtype");
    if (!dtype || !dtype->is_string())
      fail(path_, where + "missing or non-string 'dtype'");
    entry.dtype = std::string(dtype->as_string());
    const size_t elementSize = dtypeSize(entry.dtype);
    if (elementSize == 0)
      fail(path_, where + "unknown dtype '" + entry.dtype + "'");

    const json::value *shape = t.if_contains("shape");
    if (!shape || !shape->is_array())
      fail(path_, where + "missing or non-array 'shape'");
    uint64_t elements = 1;
    bool overflow = false;
    for (const json::value &d : shape->as_array()) {
      uint64_t n;
      if (!asU64(d, n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(path_, where + "shape entries must be non-negative integers");
      entry.shape.push_back(static_cast<int64_t>(n));
      if (n != 0 && elements > std::numeric_limits<uint64_t>::max() / elementSize / n)
        overflow = true;
      elements *= n;
    }

    const json::value *offsets = t.if_contains("data_offsets");
    if (!offsets || !offsets->is_array() || offsets->as_array().size() != 2 ||
        !asU64(offsets->as_array()[0], entry.begin) || !asU64(offsets->as_array()[1], entry.end))
      fail(path_, where + "'data_offsets' must be [begin, end] with non-negative integers");
    if (entry.begin > entry.end)
      fail(path_, where + "data_offsets [" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "] end before they begin");
    if (entry.end > dataSize)
      fail(path_, where + "data_offsets [" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "] are out of range: the data section holds " +
                      std::to_string(dataSize) + " bytes");
    if (overflow || elements * elementSize != entry.end - entry.begin)
      fail(path_, where + "size mismatch: shape " + shapeToString(entry.shape) + " of " +
                      entry.dtype + " needs " +
                      (overflow ? std::string("too many") : std::to_string(elements * elementSize)) +
                      " bytes, data_offsets [" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "] hold " +
                      std::to_string(entry.end - entry.begin));
    entry.data = bytes + dataStart + entry.begin;
    auto inserted = tensors_.emplace(name, std::move(entry));
    byOffset.push_back(&inserted.first->second);
  }

  std::sort(byOffset.begin(), byOffset.end(), [](const TensorEntry *a, const TensorEntry *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const TensorEntry *furthest = nullptr; // the tensor reaching furthest so far
  for (const TensorEntry *b : byOffset) {
    if (b->byteSize() == 0)
      continue;
    if (furthest && b->begin < furthest->end)
      fail(path_, "tensors '" + furthest->name + "' [" + std::to_string(furthest->begin) + ", " +
                      std::to_string(furthest->end) + "] and '" + b->name + "' [" +
                      std::to_string(b->begin) + ", " + std::to_string(b->end) + "] overlap");
    if (!furthest || b->end > furthest->end)
      furthest = b;
  }
}

} // namespace rt
} // namespace blockc

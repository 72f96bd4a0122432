//===- Safetensors.h - .safetensors reader ------------------------*- C++ -*-===//
//
// Format: an 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"k": "v"}}, then the data section; offsets are relative to
// the start of the data section.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_SAFETENSORS_H
#define BLOCKC_RUNTIME_SAFETENSORS_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace blockc {
namespace rt {

/// Bytes per element of a safetensors dtype name, or 0 if unknown.
size_t dtypeSize(const std::string &dtype);

struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; ///< data_offsets, relative to the data section
  const unsigned char *data = nullptr; ///< into the file's bytes, held by SafetensorsFile
  size_t byteSize() const { return static_cast<size_t>(end - begin); }
};

/// A validated .safetensors file, read into memory it owns: once open returns, nothing
/// depends on the file (it may be rewritten, truncated or deleted). Throws RtError
/// (BLOCKC_ERROR_WEIGHTS) with a message naming the file on any problem.
class SafetensorsFile {
public:
  static std::unique_ptr<SafetensorsFile> open(const std::string &path);
  /// The same checks on `size` bytes in memory (copied); `name` stands for the file in
  /// messages.
  static std::unique_ptr<SafetensorsFile> fromBytes(const void *bytes, size_t size,
                                                    const std::string &name);
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  const std::map<std::string, TensorEntry> &tensors() const { return tensors_; }
  const std::map<std::string, std::string> &metadata() const { return metadata_; }
  size_t fileSize() const { return size_; }

private:
  SafetensorsFile() = default;
  void parse();

  std::string path_;
  std::unique_ptr<unsigned char[]> bytes_;
  size_t size_ = 0;
  std::map<std::string, TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_SAFETENSORS_H

//===- ElfSegments.h - a module file's loadable segments ---------*- C++ -*-===//
//
// dlopen maps a shared library's loadable segments straight from the file; a segment that
// the file no longer holds (a copy cut short, a full disk) is mapped anyway, and the first
// access to it kills the process with SIGBUS. So the runtime reads the ELF program headers
// itself first and refuses such a file with a message.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_ELFSEGMENTS_H
#define BLOCKC_RUNTIME_ELFSEGMENTS_H

#include <cstdint>
#include <string>
#include <vector>

namespace blockc {
namespace rt {

/// The file bytes [offset, offset + size) of a loadable (PT_LOAD) segment.
struct FileRange {
  uint64_t offset = 0, size = 0;
};

/// A 64-bit little-endian ELF file's size and its loadable segments, as its program
/// headers say.
struct ElfLayout {
  uint64_t fileSize = 0;
  std::vector<FileRange> loadable;
};

/// Reads the layout of `path`. Throws RtError (BLOCKC_ERROR_LOAD) naming the file when it
/// cannot be read, is not such an ELF file, or its program headers do not fit in it.
ElfLayout readElfLayout(const std::string &path);

/// Throws RtError (BLOCKC_ERROR_LOAD) naming the file and the segment when a loadable
/// segment of `path` lies beyond the end of the file.
void checkLoadableSegments(const std::string &path);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_ELFSEGMENTS_H

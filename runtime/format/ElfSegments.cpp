//===- ElfSegments.cpp - a module file's loadable segments ----------------===//
#include "blockc/ModuleFormat/ElfSegments.h"

#include "blockc/ModuleFormat/Error.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fstream>

namespace blockc {
namespace rt {

namespace {
/// Reads `size` bytes at `offset` of `file` into `out`; false if the file is shorter.
bool readAt(std::ifstream &file, uint64_t offset, void *out, size_t size) {
  file.clear();
  file.seekg(static_cast<std::streamoff>(offset));
  file.read(static_cast<char *>(out), static_cast<std::streamsize>(size));
  return file.gcount() == static_cast<std::streamsize>(size);
}
} // namespace

ElfLayout readElfLayout(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
  file.seekg(0, std::ios::end);
  const uint64_t fileSize = static_cast<uint64_t>(file.tellg());
  auto corrupt = [&](const std::string &what) {
    fail(BLOCKC_ERROR_LOAD, quoted(path) + " is truncated or corrupt: " + what + " (the file has " +
                                std::to_string(fileSize) + " bytes)");
  };

  Elf64_Ehdr header;
  if (!readAt(file, 0, &header, sizeof header))
    corrupt("its ELF header is cut short");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
    corrupt("it is not a 64-bit little-endian ELF file");
  if (header.e_phentsize != sizeof(Elf64_Phdr))
    corrupt("its program header entries have " + std::to_string(header.e_phentsize) +
            " bytes, not " + std::to_string(sizeof(Elf64_Phdr)));
  const uint64_t tableBytes = uint64_t(header.e_phnum) * sizeof(Elf64_Phdr);
  if (header.e_phoff > fileSize || tableBytes > fileSize - header.e_phoff)
    corrupt("its program headers (bytes " + std::to_string(header.e_phoff) + ".." +
            std::to_string(header.e_phoff + tableBytes) + ") lie beyond the end of the file");

  ElfLayout layout{fileSize, {}};
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    readAt(file, header.e_phoff + uint64_t(i) * sizeof segment, &segment, sizeof segment);
    if (segment.p_type == PT_LOAD)
      layout.loadable.push_back({segment.p_offset, segment.p_filesz});
  }
  return layout;
}

void checkLoadableSegments(const std::string &path) {
  const ElfLayout layout = readElfLayout(path);
  const uint64_t fileSize = layout.fileSize;
  for (size_t i = 0; i < layout.loadable.size(); ++i) {
    const FileRange &s = layout.loadable[i];
    if (s.offset > fileSize || s.size > fileSize - s.offset)
      fail(BLOCKC_ERROR_LOAD,
           quoted(path) + " is truncated or corrupt: its loadable segment " + std::to_string(i) +
               " (bytes " + std::to_string(s.offset) + ".." + std::to_string(s.offset + s.size) +
               ") lies beyond the end of the file (" + std::to_string(fileSize) +
               " bytes); dlopen would map it and the process would die on its first use");
  }
}

} // namespace rt
} // namespace blockc

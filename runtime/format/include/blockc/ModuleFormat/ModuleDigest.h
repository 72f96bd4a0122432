//===- ModuleDigest.h - the size and digest at the end of module.so -*- C++ -*-===//
//
// `blockc compile` appends a record to the module.so it links: the length of the bytes
// before it and their XXH3-128 digest. The runtime checks both before dlopen, so a module
// cut short, extended or with any byte changed is refused with a message instead of being
// mapped (a missing page kills the process with SIGBUS) or run (a changed byte computes
// something else). The digest detects corruption; it is not a signature. Trailing bytes
// after the section headers are ignored by the dynamic loader.
//
// Record (kModuleDigestRecordSize bytes, little-endian): 16-byte magic
// "blockc digest v1", u64 length, u64 digest high half, u64 digest low half.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_MODULEDIGEST_H
#define BLOCKC_RUNTIME_MODULEDIGEST_H

#include <cstddef>
#include <string>

namespace blockc {
namespace rt {

constexpr size_t kModuleDigestRecordSize = 40;

/// Appends the record for the file's current bytes. Throws RtError (BLOCKC_ERROR_LOAD)
/// naming the file when it cannot be read or written.
void appendModuleDigest(const std::string &path);

/// Throws RtError (BLOCKC_ERROR_LOAD) naming the file and what is wrong when its last
/// bytes are no record, or its length or digest differ from the record's.
void checkModuleDigest(const std::string &path);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_MODULEDIGEST_H

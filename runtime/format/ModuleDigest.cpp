//===- ModuleDigest.cpp - the size and digest at the end of module.so -----===//

#include "blockc/ModuleFormat/ModuleDigest.h"
#include "blockc/ModuleFormat/Error.h"

// Header-only: the same code on every architecture the runtime is built for, no library.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace blockc {
namespace rt {
namespace {

const char kMagic[16] = {'b', 'l', 'o', 'c', 'k', 'c', ' ', 'd',
                         'i', 'g', 'e', 's', 't', ' ', 'v', '1'};

void putU64(unsigned char *out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t getU64(const unsigned char *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

std::string hex(XXH128_hash_t h) {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return text;
}

/// The digest of the first `length` bytes of `in` (positioned at 0); false when the stream
/// ends first.
bool digestOf(std::istream &in, uint64_t length, XXH128_hash_t &out) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  std::vector<char> buffer(1 << 16);
  while (length > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    if (!in.read(buffer.data(), static_cast<std::streamsize>(n)))
      return false;
    XXH3_128bits_update(&state, buffer.data(), n);
    length -= n;
  }
  out = XXH3_128bits_digest(&state);
  return true;
}

[[noreturn]] void refuse(const std::string &path, const std::string &what) {
  fail(BLOCKC_ERROR_LOAD, quoted(path) + " " + what);
}

} // namespace

void appendModuleDigest(const std::string &path) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary | std::ios::ate);
  if (!file)
    fail(BLOCKC_ERROR_LOAD, "cannot open " + quoted(path) + ": " + std::strerror(errno));
  const uint64_t length = static_cast<uint64_t>(file.tellg());
  file.seekg(0);
  XXH128_hash_t digest;
  if (!digestOf(file, length, digest))
    fail(BLOCKC_ERROR_LOAD, "cannot read " + quoted(path));
  unsigned char record[kModuleDigestRecordSize];
  std::memcpy(record, kMagic, sizeof kMagic);
  putU64(record + 16, length);
  putU64(record + 24, digest.high64);
  putU64(record + 32, digest.low64);
  file.clear();
  file.seekp(0, std::ios::end);
  if (!file.write(reinterpret_cast<const char *>(record), sizeof record) || !file.flush())
    fail(BLOCKC_ERROR_LOAD, "cannot write " + quoted(path) + ": " + std::strerror(errno));
}

void checkModuleDigest(const std::string &path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file)
    refuse(path, std::string("cannot be opened: ") + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(file.tellg());
  unsigned char record[kModuleDigestRecordSize];
  const bool hasRecord =
      size >= sizeof record &&
      file.seekg(static_cast<std::streamoff>(size - sizeof record)) &&
      file.read(reinterpret_cast<char *>(record), sizeof record) &&
      std::memcmp(record, kMagic, sizeof kMagic) == 0;
  if (!hasRecord)
    refuse(path, "does not end with blockc's size-and-digest record: it was cut short or "
                 "extended, or not written by `blockc compile`");
  const uint64_t length = getU64(record + 16);
  if (length != size - sizeof record)
    refuse(path, "has " + std::to_string(size - sizeof record) + " bytes before its digest "
                 "record, which says " + std::to_string(length) +
                 ": bytes were inserted or removed");
  const XXH128_hash_t recorded = {getU64(record + 32), getU64(record + 24)};
  XXH128_hash_t actual;
  file.seekg(0);
  if (!digestOf(file, length, actual))
    refuse(path, "could not be read to its end");
  if (!XXH128_isEqual(actual, recorded))
    refuse(path, "is corrupt: its bytes' digest is " + hex(actual) + ", `blockc compile` "
                 "recorded " + hex(recorded));
}

} // namespace rt
} // namespace blockc

//===- Npy.h - .npy reader and writer (float32, integers) -------*- C++ -*-===//
//
// NumPy .npy files, format versions 1.0, 2.0 and 3.0, in C order: little-endian float32
// ('<f4') read and written, int64 ('<i8') and int32 ('<i4') read (token ids, masks);
// anything else is rejected with a blockc::Error naming the file.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_NPY_H
#define BLOCKC_NPY_H

#include "blockc/runtime.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace blockc {
namespace npy {

struct ArrayF32 {
  std::vector<int64_t> shape; ///< outermost first; empty for a 0-d array
  std::vector<float> data;    ///< C order, product(shape) elements
};

/// Reads a '<f4' C-order .npy file. Throws blockc::Error (bad magic, unsupported
/// version, malformed header, other dtype, fortran_order, truncated or extra data).
BLOCKC_RT_API ArrayF32 readF32(const std::string &path);

/// Parses .npy bytes already in memory (`name` is used in messages).
BLOCKC_RT_API ArrayF32 parseF32(const std::string &bytes, const std::string &name);

struct ArrayI64 {
  std::vector<int64_t> shape; ///< outermost first; empty for a 0-d array
  std::vector<int64_t> data;  ///< C order, product(shape) elements
};

/// Reads an '<i8' or '<i4' (widened) C-order .npy file: token ids, masks. Throws
/// blockc::Error as readF32 does (a float array among them).
BLOCKC_RT_API ArrayI64 readInts(const std::string &path);
BLOCKC_RT_API ArrayI64 parseInts(const std::string &bytes, const std::string &name);

/// Writes a '<f4' C-order .npy file (format 1.0, or 2.0 if the header needs it).
BLOCKC_RT_API void writeF32(const std::string &path, const std::vector<int64_t> &shape,
                            const float *data);
inline void writeF32(const std::string &path, const ArrayF32 &array) {
  writeF32(path, array.shape, array.data.data());
}

/// The bytes of a .npy file holding `shape`/`data` (what writeF32 writes).
BLOCKC_RT_API std::string serializeF32(const std::vector<int64_t> &shape, const float *data);

} // namespace npy
} // namespace blockc

#endif // BLOCKC_NPY_H

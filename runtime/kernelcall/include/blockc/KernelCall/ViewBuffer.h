//===- ViewBuffer.h - a manifest argument view as a halide_buffer_t -*- C++ -*-===//
//
// One place for how an argument view of the manifest (docs/module-format.md) becomes the
// halide_buffer_t a kernel's <function>_argv entry point takes. The runtime's runs and
// blockc-tune's timing worker (a separate program) both build their arguments with it.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_RUNTIME_VIEWBUFFER_H
#define BLOCKC_RUNTIME_VIEWBUFFER_H

#include "blockc/ModuleFormat/Manifest.h"

#include <HalideRuntime.h>

#include <cstdint>
#include <vector>

namespace blockc {
namespace rt {

/// The Halide type of elements of `type`.
inline halide_type_t halideType(ElementType type) {
  if (type == ElementType::F32)
    return halide_type_t(halide_type_float, 32, 1);
  if (type == ElementType::BF16)
    return halide_type_t(halide_type_bfloat, 16, 1);
  return halide_type_t(halide_type_int, static_cast<uint8_t>(8 * elementBytes(type)), 1);
}

/// A buffer of `type` (float32 by default) over a row-major view (`shape` and `strides` in
/// elements, outermost first) in a run of `run`'s sizes, with neither host nor device
/// memory set. Halide's dimension d is row-major dimension rank - 1 - d. `dims` receives the
/// dimensions: it must hold view.shape.size() entries and outlive the buffer.
inline halide_buffer_t viewBuffer(const ArgView &view, RunShape run, halide_dimension_t *dims,
                                  ElementType type = ElementType::F32) {
  halide_buffer_t b = halide_buffer_t();
  b.device = 0;
  b.device_interface = nullptr;
  b.host = nullptr;
  b.flags = 0;
  b.padding = nullptr;
  b.type = halideType(type);
  const int rank = static_cast<int>(view.shape.size());
  b.dimensions = rank;
  b.dim = rank ? dims : nullptr;
  for (int d = 0; d < rank; ++d) {
    const size_t r = static_cast<size_t>(rank - 1 - d);
    dims[d] = halide_dimension_t(0, static_cast<int32_t>(view.extent(r, run)),
                                 static_cast<int32_t>(view.stride(r, run)), 0);
  }
  return b;
}

} // namespace rt
} // namespace blockc

#endif // BLOCKC_RUNTIME_VIEWBUFFER_H

//===- KernelLibrary.h - a shared library of compiled kernels ---*- C++ -*-===//
//
// A module (module.so) or blockc-tune's standalone kernel (kernel.so) is a shared library
// that carries its kernels' <function>_argv entry points and its own Halide runtime. Both
// are opened, looked into and called the same way, so a kernel timed by the tuner runs as
// it will in a module.
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_KERNELCALL_KERNELLIBRARY_H
#define BLOCKC_KERNELCALL_KERNELLIBRARY_H

#include <cstddef>
#include <string>

namespace blockc {
namespace rt {

/// A kernel's entry point: one halide_buffer_t* per argument.
using ArgvFunction = int (*)(void **);

/// dlopen flags for a kernel library: RTLD_NOW | RTLD_LOCAL, and RTLD_DEEPBIND (the
/// library's calls go to its own Halide runtime even if the process has another one),
/// unless sanitizers (which refuse it) are in use or the BLOCKC_RUNTIME_NO_DEEPBIND
/// environment variable is set to a non-empty value other than "0".
int kernelLibraryOpenFlags();

/// dlsym, with dlerror cleared first; null if absent.
void *lookupSymbol(void *handle, const std::string &name);

/// Size in bytes of the ELF symbol at addr, or 0 if unknown.
size_t symbolSize(const void *addr);

/// Sends the library's Halide errors to callHalide's capture (halide_set_error_handler);
/// false if the library lacks that symbol.
bool captureHalideErrors(void *handle);

} // namespace rt
} // namespace blockc

#endif // BLOCKC_KERNELCALL_KERNELLIBRARY_H

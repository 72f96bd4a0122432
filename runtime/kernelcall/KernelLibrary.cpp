//===- KernelLibrary.cpp - a shared library of compiled kernels -----------===//

#include "blockc/KernelCall/KernelLibrary.h"

#include "blockc/KernelCall/HalideErrors.h"

#include <HalideRuntime.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <link.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BLOCKC_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define BLOCKC_UNDER_SANITIZER 1
#endif
#endif

namespace blockc {
namespace rt {

int kernelLibraryOpenFlags() {
  int flags = RTLD_NOW | RTLD_LOCAL;
#if !defined(BLOCKC_UNDER_SANITIZER)
  const char *off = std::getenv("BLOCKC_RUNTIME_NO_DEEPBIND");
  if (!off || !*off || std::strcmp(off, "0") == 0)
    flags |= RTLD_DEEPBIND;
#endif
  return flags;
}

void *lookupSymbol(void *handle, const std::string &name) {
  dlerror();
  return dlsym(handle, name.c_str());
}

size_t symbolSize(const void *addr) {
  Dl_info info;
  void *entry = nullptr;
  if (dladdr1(addr, &info, &entry, RTLD_DL_SYMENT) && entry)
    return static_cast<size_t>(static_cast<const ElfW(Sym) *>(entry)->st_size);
  return 0;
}

bool captureHalideErrors(void *handle) {
  using SetErrorHandlerFunction = halide_error_handler_t (*)(halide_error_handler_t);
  auto setErrorHandler =
      reinterpret_cast<SetErrorHandlerFunction>(lookupSymbol(handle, "halide_set_error_handler"));
  if (!setErrorHandler)
    return false;
  setErrorHandler(&blockcRuntimeHalideErrorHandler);
  return true;
}

} // namespace rt
} // namespace blockc

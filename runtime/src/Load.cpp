//===- Load.cpp - loading a module ----------------------------------------===//
//
// blockc_module_load: the file (a directory means DIR/module.so), its ELF architecture,
// its loadable segments within the file (ElfSegments.h), its length and digest against
// the record blockc compile appended (ModuleDigest.h), dlopen, the module ABI version,
// the embedded manifest, the module's target against this machine (TargetChecks.h), and its
// kernels' entry points. See docs/module-format.md.
//
//===----------------------------------------------------------------------===//

#include "Module.h"

#include "blockc/KernelCall/KernelLibrary.h"
#include "blockc/ModuleFormat/ElfSegments.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/ModuleDigest.h"
#include "blockc/ModuleFormat/TargetChecks.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace blockc {
namespace rt {

std::unique_ptr<blockc_module> loadModule(const std::string &given) {
  if (given.empty())
    fail(BLOCKC_ERROR_INVALID_ARGUMENT, "module path is empty");
  std::string path = given;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    path = (path.back() == '/' ? path : path + "/") + "module.so";
    if (::stat(path.c_str(), &st) != 0)
      fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    fail(BLOCKC_ERROR_LOAD, quoted(path) + " is not a regular file");

  {
    unsigned char header[20] = {0};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fail(BLOCKC_ERROR_LOAD, "cannot open module " + quoted(path) + ": " + std::strerror(errno));
    ssize_t n = ::read(fd, header, sizeof header);
    ::close(fd);
    if (n < 4 || std::memcmp(header, "\x7f" "ELF", 4) != 0)
      fail(BLOCKC_ERROR_LOAD, quoted(path) + " is not a shared library (no ELF header)");
    checkElfArch(path, header, static_cast<size_t>(n));
  }
  checkLoadableSegments(path);
  checkModuleDigest(path);

  // dlopen searches the library path for names without '/': give it a real path.
  char *resolved = ::realpath(path.c_str(), nullptr);
  std::string absolute = resolved ? resolved : path;
  std::free(resolved);

  auto mod = std::make_unique<blockc_module>();
  mod->path = path;
  dlerror();
  // RTLD_DEEPBIND: the module's calls go to its own Halide runtime even if the
  // process has another one (each module carries the runtime of its target).
  mod->handle = dlopen(absolute.c_str(), kernelLibraryOpenFlags());
  if (!mod->handle) {
    const char *e = dlerror();
    fail(BLOCKC_ERROR_LOAD, "cannot load " + quoted(path) + ": " + (e ? e : "dlopen failed"));
  }

  const void *abiSymbol = lookupSymbol(mod->handle, "blockc_abi_version");
  if (!abiSymbol)
    fail(BLOCKC_ERROR_LOAD, quoted(path) +
                                " is not a blockc module: symbol blockc_abi_version not found");
  const size_t abiSize = symbolSize(abiSymbol);
  if (abiSize != 0 && abiSize < sizeof(int))
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": symbol blockc_abi_version is not an int");
  int abi;
  std::memcpy(&abi, abiSymbol, sizeof(int));
  if (abi != BLOCKC_RUNTIME_ABI_VERSION)
    fail(BLOCKC_ERROR_INCOMPATIBLE,
         quoted(path) + " has module ABI version " + std::to_string(abi) +
             ", this runtime loads version " + std::to_string(BLOCKC_RUNTIME_ABI_VERSION) +
             " (recompile the module with a matching blockc)");

  const char *manifestSymbol =
      static_cast<const char *>(lookupSymbol(mod->handle, "blockc_manifest"));
  if (!manifestSymbol)
    fail(BLOCKC_ERROR_LOAD,
         quoted(path) + " is not a blockc module: symbol blockc_manifest not found");
  const size_t manifestSize = symbolSize(manifestSymbol);
  if (manifestSize != 0) {
    size_t length = strnlen(manifestSymbol, manifestSize);
    const bool pointerSized = manifestSize == sizeof(void *) && manifestSymbol[0] != '{';
    if (length == manifestSize || pointerSized)
      fail(BLOCKC_ERROR_LOAD, quoted(path) + ": blockc_manifest is not a NUL-terminated char "
                                             "array (declared as a pointer? the format needs "
                                             "'const char blockc_manifest[]')");
    mod->manifestJson.assign(manifestSymbol, length);
  } else {
    mod->manifestJson = manifestSymbol;
  }

  try {
    mod->manifest = parseManifest(mod->manifestJson);
  } catch (const RtError &e) {
    fail(e.status(), path + ": " + e.what());
  }
  const Manifest &m = mod->manifest;

  checkManifestTarget(path, m);

  std::vector<std::string> missingKernels;
  auto resolve = [&](const std::vector<KernelSpec> &kernels, std::vector<ArgvFunction> &out) {
    for (const KernelSpec &k : kernels) {
      void *f = lookupSymbol(mod->handle, k.function + "_argv");
      if (!f)
        missingKernels.push_back(k.function + "_argv (kernel '" + k.name + "')");
      out.push_back(reinterpret_cast<ArgvFunction>(f));
    }
  };
  resolve(m.prepare, mod->prepareFunctions);
  resolve(m.run, mod->runFunctions);
  for (const KernelSpec &k : m.run) {
    std::string ops;
    for (const std::string &op : k.ops)
      ops += (ops.empty() ? "" : " + ") + op;
    mod->runKernelOps.push_back(std::move(ops));
  }
  if (!missingKernels.empty())
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": kernel function(s) not found: " +
                                joinNames(missingKernels));

  if (!captureHalideErrors(mod->handle))
    fail(BLOCKC_ERROR_LOAD, quoted(path) + ": symbol halide_set_error_handler not found (a "
                                           "module must carry its Halide runtime)");
  mod->setNumThreads =
      reinterpret_cast<int (*)(int)>(lookupSymbol(mod->handle, "halide_set_num_threads"));
  mod->shutdownThreadPool =
      reinterpret_cast<void (*)()>(lookupSymbol(mod->handle, "halide_shutdown_thread_pool"));
  if (m.device == "cuda")
    setUpCuda(*mod);
  return mod;
}

} // namespace rt
} // namespace blockc

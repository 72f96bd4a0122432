//===- ModuleFuzzer.cpp - libFuzzer target: the module loader -------------===//
//
// Any bytes as module.so (seeded with a real module, so mutations and cuts of one): written
// to a file and given to blockc_module_load, which refuses them with a message naming the
// file, or loads them (the unchanged module) and frees them again. The loader checks the
// ELF header, the loadable segments and the size-and-digest record before dlopen; a crash
// or a refusal without the file's name aborts.
//
//===----------------------------------------------------------------------===//

#include "blockc/runtime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

/// This process's module file, made once (TMPDIR, else /tmp).
const std::string &modulePath() {
  static const std::string path = [] {
    const char *dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/blockc-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    return pattern + "/module.so";
  }();
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = modulePath();
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
  blockc_module *module = nullptr;
  if (blockc_module_load(path.c_str(), &module) == BLOCKC_OK) {
    blockc_module_free(module);
    return 0;
  }
  if (!std::strstr(blockc_last_error(), path.c_str())) {
    std::fprintf(stderr, "refused without naming the file: %s\n", blockc_last_error());
    std::abort();
  }
  return 0;
}

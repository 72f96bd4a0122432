//===- Module.cpp - a loaded module's lifetime and its arena pool ---------===//

#include "Module.h"

#include <algorithm>
#include <dlfcn.h>
#include <new>

using namespace blockc::rt;

AlignedFloats blockc::rt::allocateFloats(size_t count) {
  size_t bytes = std::max<size_t>(count, 1) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void *p = std::aligned_alloc(kAlignment, bytes);
  if (!p)
    throw std::bad_alloc();
  return AlignedFloats(static_cast<float *>(p));
}

blockc_module::~blockc_module() {
  publishBinding(nullptr);
  pool.clear();
  tearDownCuda(*this);
  if (handle)
    dlclose(handle);
}

Arena blockc_module::acquireArena(size_t floats) {
  Arena a;
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    auto best = pool.end();
    for (auto it = pool.begin(); it != pool.end(); ++it)
      if (it->capacity >= floats && (best == pool.end() || it->capacity < best->capacity))
        best = it;
    if (best != pool.end()) {
      a = std::move(*best);
      pool.erase(best);
      return a;
    }
    if (!pool.empty()) { // too small: grow the largest
      auto largest = std::max_element(pool.begin(), pool.end(), [](const Arena &x, const Arena &y) {
        return x.capacity < y.capacity;
      });
      a = std::move(*largest);
      pool.erase(largest);
    }
  }
  a.capacity = 0;
  if (cuda) {
    a.device.reset(); // idle: its stream finished when it went back to the pool
    a.device = cuda::DeviceMemory(floats * sizeof(float));
    if (!a.stream.get())
      a.stream = cuda::Stream::create();
  } else {
    a.data.reset();
    a.data = allocateFloats(floats);
  }
  a.capacity = floats;
  return a;
}

void blockc_module::releaseArena(Arena a) {
  std::lock_guard<std::mutex> lock(poolMutex);
  pool.push_back(std::move(a));
}

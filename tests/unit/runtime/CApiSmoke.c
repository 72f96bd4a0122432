/* Compiled as C: the C API header must be usable from C. */
#include "blockc/runtime.h"

#include <stdio.h>

int blockc_test_c_api_smoke(const char *module_path, const char *weights_path) {
  blockc_module *m = NULL;
  blockc_module_info info;
  float x[32], y[32];
  int i;
  if (blockc_module_load(module_path, &m) != BLOCKC_OK) {
    fprintf(stderr, "load: %s\n", blockc_last_error());
    return 1;
  }
  if (blockc_module_get_info(m, &info) != BLOCKC_OK || info.tokens != 4 || info.dim != 8)
    return 2;
  if (blockc_module_bind_weights(m, weights_path) != BLOCKC_OK) {
    fprintf(stderr, "bind: %s\n", blockc_last_error());
    return 3;
  }
  for (i = 0; i < 32; ++i)
    x[i] = (float)i;
  if (blockc_module_run(m, x, 1, y) != BLOCKC_OK) {
    fprintf(stderr, "run: %s\n", blockc_last_error());
    return 4;
  }
  /* y = 2 * scale * x + bias + 1 with scale[0] = 1, bias[0] = 0 */
  if (y[0] != 1.0f || y[8] != 8.0f * 2.0f + 1.0f)
    return 5;
  blockc_module_free(m);
  return 0;
}

/* blockc_module_get_tensor_info with a kind that is no blockc_io_kind, as C may pass (C++
   cannot form such an enum value without undefined behavior). */
blockc_status blockc_test_tensor_info_of_kind(const blockc_module *module, int kind,
                                              blockc_tensor_info *info) {
  return blockc_module_get_tensor_info(module, (blockc_io_kind)kind, 0, info);
}

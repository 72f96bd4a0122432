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

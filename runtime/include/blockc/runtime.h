/*===- runtime.h - blockc runtime C API -----------------------------*- C -*-===*
 *
 * Loads a module compiled by `blockc compile` (DIR/module.so, see
 * docs/module-format.md), binds its weights from a .safetensors file and runs it.
 * A module has named float32 inputs and outputs (a block: x [B, tokens, dim] -> y
 * [B, tokens, dim]; a ViT: pixel_values [B, 3, 224, 224] -> logits [B, 1000]...), each
 * of a fixed shape but for the batch B of the call. blockc_module_run_named takes them
 * by name as DLPack DLTensors (<dlpack/dlpack.h>); blockc_module_run takes a module with
 * one input and one output as plain pointers.
 *
 * Every function returns a blockc_status; on failure, blockc_last_error() gives
 * a message for the calling thread (like dlerror), valid until that thread's
 * next call into this API.
 *
 * Thread safety: blockc_module_run (and every other run) may be called concurrently on one module from
 * several threads (weights and constants are read-only after binding; each run
 * gets its own activation arena). blockc_module_bind_weights may be called while
 * other threads run the module: it prepares the new weights beside the old and then
 * swaps them in, without waiting for the runs in flight, which finish on the old
 * weights (freed when the last of them returns); runs that start after it returns use
 * the new ones (a failed bind keeps the old). Binds on one module take turns. Bind reads the weight file into memory the module owns: the file
 * may be rewritten, truncated or deleted after bind returns. blockc_module_free must
 * not race with other calls on the same module (it must come last).
 *
 * CUDA modules (compiled with --target cuda; manifest "device": "cuda") run their
 * kernels on an NVIDIA GPU through the CUDA driver (libcuda.so.1, opened at load; the
 * device is BLOCKC_CUDA_DEVICE, default 0), in the device's primary context (the one
 * the CUDA runtime API and PyTorch use). Loading one on a machine without a usable
 * driver or GPU fails with BLOCKC_ERROR_INCOMPATIBLE and the reason. Weights are
 * uploaded to the GPU when bound; each concurrent run has its own device arena and its
 * own CUDA stream. blockc_module_run copies the input to the GPU and the output back;
 * blockc_module_run_device takes device pointers; blockc_module_run_named takes either,
 * per tensor (kDLCPU: copied; kDLCUDA: used in place).
 *
 *===----------------------------------------------------------------------===*/
#ifndef BLOCKC_RUNTIME_H
#define BLOCKC_RUNTIME_H

#include <dlpack/dlpack.h>

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define BLOCKC_RT_API __attribute__((visibility("default")))
#else
#define BLOCKC_RT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The module ABI version this runtime loads (blockc_abi_version in module.so). */
#define BLOCKC_RUNTIME_ABI_VERSION 2

typedef enum blockc_status {
  BLOCKC_OK = 0,
  BLOCKC_ERROR_INVALID_ARGUMENT = 1, /* null pointer, batch < 1, overlapping buffers... */
  BLOCKC_ERROR_LOAD = 2,             /* not a loadable module, bad or missing manifest */
  BLOCKC_ERROR_INCOMPATIBLE = 3,     /* ABI version, arch or CPU features mismatch */
  BLOCKC_ERROR_WEIGHTS = 4,          /* weight file unreadable or not matching the manifest */
  BLOCKC_ERROR_NOT_BOUND = 5,        /* run before a successful bind_weights */
  BLOCKC_ERROR_KERNEL = 6,           /* a kernel returned an error (Halide's message) */
  BLOCKC_ERROR_OUT_OF_MEMORY = 7
} blockc_status;

typedef struct blockc_module blockc_module;

/** What a loaded module is. Strings are owned by the module (valid until free). */
typedef struct blockc_module_info {
  const char *path;          /* the module.so that was loaded */
  const char *block;         /* manifest "block" */
  const char *target;        /* manifest "target" (Halide target string) */
  const char *arch;          /* manifest "arch" */
  const char *spec_hash;     /* manifest "spec_hash" ("" if absent) */
  const char *manifest_json; /* the whole manifest, as embedded in module.so */
  /* A block module (one input and one output, both of rank 3, fixed tokens): its input is
   * [B, tokens, dim] and its output [B, output_tokens, output_dim]. 0 for other modules
   * (see blockc_module_get_tensor_info). */
  int64_t tokens;
  int64_t dim;
  int64_t output_tokens;
  int64_t output_dim;
  int32_t num_inputs;        /* the module's inputs and outputs (at least one each) */
  int32_t num_outputs;
  double flops_per_sample;
  int32_t num_weights;       /* tensors the weight file must hold */
  int32_t weights_bound;     /* 1 after a successful blockc_module_bind_weights */
  const char *device;        /* manifest "device": "cuda", or "" for a CPU module */
  /* A module with run-time tokens: each run chooses a sequence length S from 1 to
   * max_tokens (its tensors' shape[1], -2 in blockc_tensor_info); 0 for other modules.
   * The flops of one sample of such a run are flops_per_sample + S * flops_per_token +
   * S * S * flops_per_token_pair (both 0 for other modules). */
  int64_t max_tokens;
  double flops_per_token;
  double flops_per_token_pair;
} blockc_module_info;

/** Which of a module's tensors blockc_module_get_tensor_info describes. */
typedef enum blockc_io_kind { BLOCKC_INPUT = 0, BLOCKC_OUTPUT = 1 } blockc_io_kind;

/** One input or output of a module. The name and shape are owned by the module (valid until
 *  free). */
typedef struct blockc_tensor_info {
  const char *name;      /* unique among the module's inputs and outputs ("pixel_values") */
  int32_t rank;          /* 2 to 5 */
  const int64_t *shape;  /* rank entries, row-major; shape[0] is -1: the batch B of a run;
                            shape[1] is -2 in a tensor whose tokens are chosen per run (S) */
  DLDataType dtype;      /* float32 {kDLFloat, 32, 1}; an input may be int64 {kDLInt, 64, 1} or
                            int32 {kDLInt, 32, 1}, [B, N]: token ids or an attention mask */
  int64_t bound;         /* an integer input's values must lie in [0, bound) (the rows of the
                            embedding table its ids index; 2 for a mask: 1 = token, 0 =
                            padding), checked before any kernel runs; 0 for float32 */
  int32_t optional;      /* 1: an integer input a named run may omit (it then reads zeros:
                            token_type_ids); 0 otherwise */
} blockc_tensor_info;

/** A tensor of a named run: `name` is an input's or output's name (blockc_tensor_info). */
typedef struct blockc_named_tensor {
  const char *name;
  DLTensor tensor;
} blockc_named_tensor;

/** One kernel of a module's run, in the order blockc_module_run calls them. Strings are
 *  owned by the module (valid until free). */
typedef struct blockc_kernel_info {
  const char *name;        /* manifest kernel "name" ("k0_matmul") */
  const char *kind;        /* "matmul", "attention", "norm"... ("" if the manifest has none) */
  const char *ops;         /* the ops it computes, joined by " + " ("layer_norm + linear"), or "" */
  double flops_per_sample; /* 2 x its multiply-adds per sample; 0 if the manifest does not say */
  double flops_per_token;      /* with run-time tokens, per sample at S tokens: flops_per_sample */
  double flops_per_token_pair; /* + S * flops_per_token + S * S * flops_per_token_pair */
} blockc_kernel_info;

/** The calling thread's message for its last failed call ("" if none). */
BLOCKC_RT_API const char *blockc_last_error(void);

/** A short name for a status ("BLOCKC_ERROR_KERNEL"). */
BLOCKC_RT_API const char *blockc_status_name(blockc_status status);

/** Loads `path`: a module directory (loads DIR/module.so) or a path to a .so file.
 *  Checks the ABI version, parses the manifest, checks arch and CPU features, and
 *  finds every kernel. On success *out is a new module (free with blockc_module_free).
 *  The .so is opened with RTLD_LOCAL | RTLD_DEEPBIND so its kernels call its own Halide
 *  runtime; set BLOCKC_RUNTIME_NO_DEEPBIND=1 to drop RTLD_DEEPBIND (sanitized host
 *  programs refuse it; a runtime built with ASan/TSan drops it by itself). */
BLOCKC_RT_API blockc_status blockc_module_load(const char *path, blockc_module **out);

/** Releases a module (NULL is fine). No call on it may be in flight. */
BLOCKC_RT_API void blockc_module_free(blockc_module *module);

/** Memory-maps a .safetensors file, checks it holds exactly the manifest's weights
 *  (every missing, extra, mis-shaped or mis-typed tensor is named in one message)
 *  and runs the prepare kernels. Binding again replaces the previous weights. */
BLOCKC_RT_API blockc_status blockc_module_bind_weights(blockc_module *module,
                                                       const char *safetensors_path);

/** Binds weights from the caller's memory instead of a file: tensors[i].name a state-dict key,
 *  tensors[i].tensor a host (kDLCPU) DLTensor, C-contiguous (strides NULL or compact
 *  row-major), each name once; checked against the manifest's weights as
 *  blockc_module_bind_weights checks a file (the dtype as safetensors names it: float32 is
 *  "F32"). A CPU module reads 4-byte aligned float32 tensors in place: the caller keeps every
 *  tensor's memory valid and unchanged until the runtime calls release(release_context),
 *  exactly once: after this bind fails, or once a later bind has replaced these weights (or
 *  blockc_module_free has run) and the last run that used them has returned. release may be
 *  called from any thread that runs, binds or frees the module; it may be NULL. A CUDA module
 *  uploads the tensors before returning. Concurrency as blockc_module_bind_weights. */
BLOCKC_RT_API blockc_status blockc_module_bind_tensors(blockc_module *module,
                                                       const blockc_named_tensor *tensors,
                                                       size_t num_tensors, void (*release)(void *),
                                                       void *release_context);

/** Runs a module with exactly one input and one output (a block: input [batch, tokens, dim],
 *  output [batch, output_tokens, output_dim]; any shapes, see blockc_module_get_tensor_info):
 *  both float32, C-contiguous, host memory and not overlapping. batch >= 1. Another module
 *  fails with BLOCKC_ERROR_INVALID_ARGUMENT naming its inputs and outputs: use
 *  blockc_module_run_named. Safe to call from several threads at once. */
BLOCKC_RT_API blockc_status blockc_module_run(blockc_module *module, const float *input,
                                              int64_t batch, float *output);

/** Runs the module on named tensors: each of its inputs and outputs given exactly once, in
 *  any order, by name (no other name, none twice), except that an optional input may be
 *  omitted (it then reads zeros). Each tensor: dtype float32 ({kDLFloat, 32, 1}), or the
 *  input's integer dtype; ndim and every dimension but the first as the module's
 *  (get_tensor_info), but the sequence length S (-2 there) any value from 1 to max_tokens,
 *  the same for all tensors that have it; shape[0] the batch B >= 1, the same for all;
 *  integer inputs' values within [0, bound); strides NULL or those of a compact
 *  row-major array (any stride for a dimension of extent 1); data non-null, data +
 *  byte_offset 4-byte aligned; device kDLCPU (device_id 0) for a CPU module; for a CUDA
 *  module kDLCUDA with the module's device (BLOCKC_CUDA_DEVICE) as device_id, used in
 *  place as blockc_module_run_device does, or kDLCPU, copied through the GPU as
 *  blockc_module_run does. An output must not overlap an input or another output.
 *  Anything else fails with BLOCKC_ERROR_INVALID_ARGUMENT and a message naming the tensor.
 *  Safe to call from several threads at once. */
BLOCKC_RT_API blockc_status blockc_module_run_named(blockc_module *module,
                                                    const blockc_named_tensor *inputs,
                                                    size_t num_inputs,
                                                    const blockc_named_tensor *outputs,
                                                    size_t num_outputs);

/** *count = the number of the module's inputs. */
BLOCKC_RT_API blockc_status blockc_module_num_inputs(const blockc_module *module, int32_t *count);

/** *count = the number of the module's outputs. */
BLOCKC_RT_API blockc_status blockc_module_num_outputs(const blockc_module *module, int32_t *count);

/** Fills *info for input (BLOCKC_INPUT) or output (BLOCKC_OUTPUT) `index`, in manifest order
 *  (0 <= index < blockc_module_num_inputs or _num_outputs). */
BLOCKC_RT_API blockc_status blockc_module_get_tensor_info(const blockc_module *module,
                                                          blockc_io_kind kind, int32_t index,
                                                          blockc_tensor_info *info);

/** Runs a CUDA module with one input and one output on device memory: device_input is
 *  [batch, ...] and device_output [batch, ...] float32 (as blockc_module_run), C-contiguous, not
 *  overlapping, CUdeviceptr values (cudaMalloc'd memory, torch.Tensor.data_ptr() of a
 *  CUDA tensor...) of the module's device, usable in its primary context. The run's
 *  stream is ordered after work already queued on the legacy default stream (stream 0,
 *  PyTorch's default stream); work on other streams must be synchronized by the caller.
 *  Returns when the output is written (the run's stream is synchronized). A CPU module
 *  fails with BLOCKC_ERROR_INCOMPATIBLE. Safe to call from several threads at once. */
BLOCKC_RT_API blockc_status blockc_module_run_device(blockc_module *module,
                                                     const void *device_input, int64_t batch,
                                                     void *device_output);

/** Sets the number of threads of the module's Halide runtime (0: Halide's default,
 *  HL_NUM_THREADS or the number of cores), stopping the threads its pool has started so
 *  that the next run starts the new count. The setting is per module.so file: two
 *  modules loaded from the same file share it, and no run of either may be in flight.
 *  *previous (may be NULL) gets the old value. */
BLOCKC_RT_API blockc_status blockc_module_set_num_threads(blockc_module *module, int threads,
                                                          int *previous);

/** Runs like blockc_module_run (one input, one output) and writes each run kernel's wall
 *  time in seconds to kernel_seconds[i], in run order; count must be
 *  blockc_module_num_kernels. On a CUDA module the run's stream is synchronized after each
 *  kernel, so each time is that kernel's own and the whole run is slower than
 *  blockc_module_run. */
BLOCKC_RT_API blockc_status blockc_module_run_profiled(blockc_module *module, const float *input,
                                                       int64_t batch, float *output,
                                                       double *kernel_seconds, int32_t count);

/** Runs like blockc_module_run_named and times each kernel as blockc_module_run_profiled. */
BLOCKC_RT_API blockc_status blockc_module_run_named_profiled(
    blockc_module *module, const blockc_named_tensor *inputs, size_t num_inputs,
    const blockc_named_tensor *outputs, size_t num_outputs, double *kernel_seconds,
    int32_t count);

/** *count = the number of kernels a run calls. */
BLOCKC_RT_API blockc_status blockc_module_num_kernels(const blockc_module *module, int32_t *count);

/** Fills *info for run kernel `index` (0 <= index < blockc_module_num_kernels). */
BLOCKC_RT_API blockc_status blockc_module_get_kernel_info(const blockc_module *module,
                                                          int32_t index, blockc_kernel_info *info);

/** A tensor of the weight file that the module declares (manifest "weights"). */
typedef struct blockc_weight_info {
  const char *name;  /* its state-dict key */
  const char *dtype; /* "F32", or "I64" for BatchNorm's num_batches_tracked */
  int32_t used;      /* 0: inference never reads it; it is checked if present, may be absent */
  int32_t present;   /* whether the bound weight file holds it; -1 before a bind */
} blockc_weight_info;

/** The number of tensors the module declares (blockc_module_get_weight_info). */
BLOCKC_RT_API blockc_status blockc_module_num_weights(const blockc_module *module, int32_t *count);

/** Fills *info for declared tensor `index` (0 <= index < blockc_module_num_weights).
 *  Strings live as long as the module. */
BLOCKC_RT_API blockc_status blockc_module_get_weight_info(const blockc_module *module,
                                                          int32_t index, blockc_weight_info *info);

/** A name the module's spec ignores (`ignore pooler`): tensors named so or under `name.` that
 *  a weight file may hold and inference never reads (Hugging Face's pooler, buffers). */
typedef struct blockc_ignored_info {
  const char *name;  /* as the spec wrote it; lives as long as the module */
  int32_t present;   /* how many tensors of the bound weights are under it; -1 before a bind */
} blockc_ignored_info;

/** The number of names the module ignores (blockc_module_get_ignored_info). */
BLOCKC_RT_API blockc_status blockc_module_num_ignored(const blockc_module *module, int32_t *count);

/** Fills *info for ignored name `index` (0 <= index < blockc_module_num_ignored). */
BLOCKC_RT_API blockc_status blockc_module_get_ignored_info(const blockc_module *module,
                                                           int32_t index, blockc_ignored_info *info);

/** Fills *info (see blockc_module_info). */
BLOCKC_RT_API blockc_status blockc_module_get_info(const blockc_module *module,
                                                   blockc_module_info *info);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BLOCKC_RUNTIME_H */

//===- KernelCallTest.cpp - blockc_kernel_call and the target checks ------===//
//
// Argument views as halide_buffer_t, the capture of a call's Halide errors, the kernel
// library's open flags; the checks of a module's target (blockc_module_format) that need
// no module file. Loading and running real kernels is ModuleTest's.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "blockc/KernelCall/HalideErrors.h"
#include "blockc/KernelCall/KernelLibrary.h"
#include "blockc/KernelCall/ViewBuffer.h"
#include "blockc/ModuleFormat/CpuFeatures.h"
#include "blockc/ModuleFormat/Error.h"
#include "blockc/ModuleFormat/TargetChecks.h"

#include <cstdlib>
#include <dlfcn.h>
#include <elf.h>
#include <thread>

using namespace blockc::rt;

namespace {

TEST(KernelCallTest, AViewBecomesAHalideBufferInnermostFirst) {
  halide_dimension_t dims[3];
  ArgView view;
  view.shape = {-2, 4, 8};
  view.strides = {64, 16, 1};
  const halide_buffer_t b = viewBuffer(view, RunShape{3, 1}, dims);
  EXPECT_EQ(b.dimensions, 3);
  EXPECT_EQ(b.dim, dims);
  EXPECT_EQ(b.host, nullptr);
  EXPECT_EQ(b.device, 0u);
  EXPECT_EQ(b.type, halide_type_t(halide_type_float, 32, 1));
  EXPECT_EQ(dims[0].extent, 8);
  EXPECT_EQ(dims[0].stride, 1);
  EXPECT_EQ(dims[1].extent, 4);
  EXPECT_EQ(dims[1].stride, 16);
  EXPECT_EQ(dims[2].extent, 6); // -2 means 2 * batch
  EXPECT_EQ(dims[2].stride, 64);
}

TEST(KernelCallTest, RunTimeTokensScaleTheirExtentsAndStrides) {
  // q of an attention over [B, S, 12 heads x 64]: (d, h, n, b) with n's extent and b's
  // stride times S.
  halide_dimension_t dims[4];
  ArgView view;
  view.shape = {-1, 1, 12, 64};
  view.strides = {768, 768, 64, 1};
  view.tokensShape = 0b10;
  view.tokensStrides = 0b01;
  const halide_buffer_t b = viewBuffer(view, RunShape{3, 17}, dims);
  EXPECT_EQ(b.dimensions, 4);
  EXPECT_EQ(dims[0].extent, 64);
  EXPECT_EQ(dims[1].extent, 12);
  EXPECT_EQ(dims[1].stride, 64);
  EXPECT_EQ(dims[2].extent, 17);
  EXPECT_EQ(dims[2].stride, 768);
  EXPECT_EQ(dims[3].extent, 3);
  EXPECT_EQ(dims[3].stride, 17 * 768);
}

TEST(KernelCallTest, ACallCollectsTheErrorsOfItsThread) {
  std::string messages;
  const int rc = callHalide(
      [] {
        blockcRuntimeHalideErrorHandler(nullptr, "first\n");
        blockcRuntimeHalideErrorHandler(nullptr, "second ");
        return -1;
      },
      messages);
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(messages, "first; second");
}

TEST(KernelCallTest, AFailingCallThatCapturedNothingTakesAWorkerThreadsError) {
  std::string messages;
  const int rc = callHalide(
      [] {
        std::thread([] { blockcRuntimeHalideErrorHandler(nullptr, "from a worker"); }).join();
        return -2;
      },
      messages);
  EXPECT_EQ(rc, -2);
  EXPECT_EQ(messages, "from a worker");
  // A call that succeeds, or that raised nothing new, takes none.
  std::string none;
  EXPECT_EQ(callHalide([] { return -3; }, none), -3);
  EXPECT_EQ(none, "");
}

TEST(KernelCallTest, OutsideACallErrorsAreNotCaptured) {
  std::string messages;
  EXPECT_EQ(callHalide([] { return 0; }, messages), 0);
  EXPECT_EQ(messages, "");
}

TEST(KernelCallTest, KernelLibrariesAreOpenedLocallyAndDeepBoundUnlessSaidOtherwise) {
  const int flags = kernelLibraryOpenFlags();
  EXPECT_TRUE(flags & RTLD_NOW);
  EXPECT_FALSE(flags & RTLD_GLOBAL);
  setenv("BLOCKC_RUNTIME_NO_DEEPBIND", "1", 1);
  EXPECT_FALSE(kernelLibraryOpenFlags() & RTLD_DEEPBIND);
  unsetenv("BLOCKC_RUNTIME_NO_DEEPBIND");
}

TEST(TargetChecksTest, ComputeCapabilityIsTheHighestNamed) {
  EXPECT_EQ(requiredComputeCapability("x86-64-linux-cuda"), 0);
  EXPECT_EQ(requiredComputeCapability("x86-64-linux-cuda-cuda_capability_70"), 70);
  EXPECT_EQ(requiredComputeCapability("host-cuda-cuda_capability_86-cuda_capability_61"), 86);
}

TEST(TargetChecksTest, AnElfHeaderOfAnotherArchitectureIsRefused) {
  unsigned char header[20] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB};
  const bool onArm = std::string(hostArch()) == "arm-64";
  const int other = onArm ? EM_X86_64 : EM_AARCH64;
  header[18] = other & 0xff;
  header[19] = other >> 8;
  try {
    checkElfArch("m.so", header, sizeof header);
    ADD_FAILURE() << "no error";
  } catch (const RtError &e) {
    EXPECT_EQ(e.status(), BLOCKC_ERROR_INCOMPATIBLE);
    EXPECT_HAS(e.what(), std::string("'m.so' was compiled for ") + (onArm ? "x86-64" : "arm-64") +
                             " (its ELF machine), but this machine is " + hostArch());
  }
  // A short header, or an unknown machine, is left to dlopen.
  EXPECT_NO_THROW(checkElfArch("m.so", header, 19));
  header[18] = 0xff;
  EXPECT_NO_THROW(checkElfArch("m.so", header, sizeof header));
}

} // namespace

# CMake toolchain file: AArch64 Linux with Debian's cross compiler (g++-aarch64-linux-gnu),
# for the runtime-only build (tools/build-arm64.sh). Programs built with it run here under
# qemu-user (package qemu-user): qemu-aarch64 -L /usr/aarch64-linux-gnu PROGRAM.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries only from the target's tree (the cross libc, and the extracted arm64 packages
# that tools/build-arm64.sh adds to CMAKE_FIND_ROOT_PATH); headers may also come from the
# host, where the arch-independent ones (Boost, Halide's runtime header) are.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)

//===- BoostJson.cpp - Boost.JSON from its header-only sources ------------===//
//
// Only in runtime-only builds (BLOCKC_WITH_COMPILER=OFF, cmake/RuntimeOnlyDeps.cmake): the
// AArch64 cross build has no Boost.JSON library for its target, so the library is compiled
// here, once. The regular build links Debian's libboost_json instead.
//
//===----------------------------------------------------------------------===//
#include <boost/json/src.hpp>

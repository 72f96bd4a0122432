# Dependencies of a runtime-only build (BLOCKC_WITH_COMPILER=OFF), for the host or for a
# cross target (cmake/aarch64-linux-gnu.cmake):
# - Halide::Runtime: HalideRuntime.h, header-only and arch-independent, from the Halide
#   wheel's HalideHelpers package (libHalide itself is not needed).
# - Boost::json: Boost.JSON compiled from its header-only sources (runtime/src/BoostJson.cpp),
#   so no Boost.JSON library is needed for the target; Boost's headers are arch-independent.
# - Boost::program_options: the target's static library (for AArch64, tools/setup.sh
#   extracts Debian's libboost-program-options1.81-dev:arm64 into .deps/arm64).
find_package(HalideHelpers 21 REQUIRED)

find_path(BLOCKC_BOOST_INCLUDE_DIR boost/json/src.hpp PATHS /usr/include REQUIRED)
find_library(BLOCKC_BOOST_PROGRAM_OPTIONS_LIBRARY
             NAMES libboost_program_options.a boost_program_options REQUIRED)
message(STATUS "Boost.program_options: ${BLOCKC_BOOST_PROGRAM_OPTIONS_LIBRARY}")

add_library(Boost::program_options UNKNOWN IMPORTED)
set_target_properties(Boost::program_options PROPERTIES
  IMPORTED_LOCATION "${BLOCKC_BOOST_PROGRAM_OPTIONS_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${BLOCKC_BOOST_INCLUDE_DIR}")

# Each binary that links it gets a private copy (hidden symbols): the runtime library and
# the CLI never pass Boost.JSON objects to each other.
add_library(blockc_boost_json STATIC "${CMAKE_CURRENT_LIST_DIR}/../runtime/src/BoostJson.cpp")
target_include_directories(blockc_boost_json SYSTEM PUBLIC "${BLOCKC_BOOST_INCLUDE_DIR}")
set_target_properties(blockc_boost_json PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
add_library(Boost::json ALIAS blockc_boost_json)

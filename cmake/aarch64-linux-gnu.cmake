# Cross build for arm64 (Graviton): g++-aarch64-linux-gnu, tests run under qemu-aarch64.
# ORTKIT_QEMU_CPU picks the emulated CPU: cortex-a72, neoverse-n1, max,sve256=on, max,sve128=on.
#
# Two uses:
#  - kernels/ only (-DORTKIT_KERNELS_ONLY=ON): needs nothing but the cross compiler and its sysroot
#    /usr/aarch64-linux-gnu (scripts/test-arm64.sh).
#  - the whole project: links the Debian 12 multiarch arm64 packages (libprotobuf-dev:arm64, libfmt-dev:arm64,
#    libhwloc-dev:arm64 in /usr/lib/aarch64-linux-gnu, installed by `scripts/setup.sh --arm64`) and ONNX
#    from ORTKIT_ARM64_PREFIX (default /opt/ortkit-arm64): libonnx-dev:arm64 cannot be installed next to
#    the amd64 one (its dependency libonnxifi ships /usr/lib/libonnxifi.so outside the multiarch directory),
#    so setup.sh unpacks those three .debs there. Headers and arch-independent CMake configs (CLI11,
#    nlohmann_json, Catch2) come from the host's /usr; programs (protoc) are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
if(NOT DEFINED ORTKIT_ARM64_PREFIX)
  set(ORTKIT_ARM64_PREFIX /opt/ortkit-arm64)
endif()
# Order matters: the private ONNX prefix first, then the cross sysroot, then the multiarch host root
# (whose lib/ search is limited to lib/aarch64-linux-gnu by CMAKE_LIBRARY_ARCHITECTURE + ONLY mode below).
set(CMAKE_FIND_ROOT_PATH ${ORTKIT_ARM64_PREFIX} /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Never let a find_library() fall back to an amd64 library in /usr/lib/x86_64-linux-gnu.
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake)
# pkg-config (hwloc): only the arm64 .pc files and the arch-independent ones.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
if(NOT DEFINED ORTKIT_QEMU_CPU)
  set(ORTKIT_QEMU_CPU "max")
endif()
# The arm64 shared libraries live in /usr/lib/aarch64-linux-gnu, which qemu's -L sysroot does not hold.
# The sysroot's lib/ comes first so libc matches the cross ld.so: with multiarch libc6:arm64 installed,
# the host's ld.so.cache would otherwise hand the cross ld.so a different glibc build, and threads deadlock.
set(CMAKE_CROSSCOMPILING_EMULATOR
    env;LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:/usr/lib/aarch64-linux-gnu;qemu-aarch64;-L;/usr/aarch64-linux-gnu;-cpu;${ORTKIT_QEMU_CPU})

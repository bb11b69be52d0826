#!/usr/bin/env bash
# README command 2: install dependencies, build everything, and run every test with ctest.
#   HOSTD_SANITIZE=ON scripts/test.sh          the same under ASan+UBSan (in build-asan/)
#   HOSTD_SANITIZE_THREAD=ON scripts/test.sh   the same under ThreadSanitizer (in build-tsan/; hostd
#                                              without its plugin guards, their tests skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=${HOSTD_SANITIZE:-OFF}
tsan=${HOSTD_SANITIZE_THREAD:-OFF}
if [ "$sanitize" = ON ] && [ "$tsan" = ON ]; then
  echo "scripts/test.sh: HOSTD_SANITIZE and HOSTD_SANITIZE_THREAD are two builds: run them one at a time" >&2
  exit 2
fi
build=${BUILD_DIR:-$([ "$sanitize" = ON ] && echo build-asan || { [ "$tsan" = ON ] && echo build-tsan; } || echo build)}

# The sanitizer build is for finding bugs, not for debugging or benchmarks: -O1 (what ASan
# recommends) and line tables only (-g1: file:line in every report) compile much faster than
# -O2 -g, which keeps CI (two full builds on 2 cores) within its budget.
extra=()
if [ "$sanitize" = ON ] || [ "$tsan" = ON ]; then
  extra=(-DHOSTD_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
         "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
fi

scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOSTD_SANITIZE="$sanitize" -DHOSTD_SANITIZE_THREAD="$tsan" "${extra[@]}" >/dev/null
cmake --build "$build"
cd "$build"
ctest --output-on-failure --timeout 300 -j "$(nproc)"

#!/usr/bin/env bash
# README command 2: install dependencies, build everything, and run every test with ctest.
#   HOSTD_SANITIZE=ON scripts/test.sh    the same under ASan+UBSan (in build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=${HOSTD_SANITIZE:-OFF}
build=${BUILD_DIR:-$([ "$sanitize" = ON ] && echo build-asan || echo build)}

scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOSTD_SANITIZE="$sanitize" >/dev/null
cmake --build "$build"
cd "$build"
ctest --output-on-failure --timeout 300 -j "$(nproc)"

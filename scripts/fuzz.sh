#!/usr/bin/env bash
# Builds the configuration parser's libFuzzer target with clang and runs it for a bounded time
# (FUZZ_SECONDS, default 60) over the seed corpus. A crash leaves its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
scripts/deps.sh clang libclang-rt-14-dev
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DHOSTD_FUZZ=ON -DHOSTD_BUILD_TESTS=OFF -DHOSTD_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target config_fuzzer
mkdir -p "$build/corpus"
cp tests/fuzz/corpus/* "$build/corpus/"
cd "$build"
tests/fuzz/config_fuzzer -max_total_time="$seconds" -max_len=4096 -timeout=5 corpus

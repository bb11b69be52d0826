#!/usr/bin/env bash
# README command 1: install dependencies, build, and run hostd in the foreground on the demo
# configuration and plugin directory inside the build tree (build/demo). Ctrl-C drains it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target hostd hostctl hostd_demo_plugins
echo "demo: running $build/host/hostd --config=$build/demo/hostd.conf (Ctrl-C to stop)" >&2
echo "demo: in another terminal: $build/host/hostctl/hostctl --config=$build/demo/hostd.conf list" >&2
exec "$build/host/hostd" --config="$build/demo/hostd.conf" "$@"

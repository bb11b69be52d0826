#!/usr/bin/env bash
# The plugin author's path, end to end: install the SDK component of this build into a staging
# prefix, build sdk/template out of tree against it once with find_package(hostd) and once with
# a plain compiler command line from pkg-config, check both with the installed
# hostd-plugin-check, then run the real hostd on a plugin directory holding both (the CMake one
# configured by the template's drop-in hostd.conf.d/hello.conf) and drain it with SIGTERM.
#
#   template_test.sh BUILD_DIR SOURCE_DIR HOSTD CMAKE GENERATOR CXX
set -euo pipefail
build=$1 src=$2 hostd=$3 cmake=$4 generator=$5 cxx=$6

work=$(mktemp -d /tmp/hostd-sdk-template.XXXXXX)
hostd_pid=
cleanup() {
  status=$?
  if [ -n "$hostd_pid" ]; then kill -KILL "$hostd_pid" 2>/dev/null || true; fi
  if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "template_test: failed; kept $work" >&2; fi
}
trap cleanup EXIT
step() { echo "== $*"; }

step "install the SDK component into $work/prefix"
"$cmake" --install "$build" --prefix "$work/prefix" --component sdk >/dev/null
prefix=$work/prefix

step "build the template with find_package(hostd)"
"$cmake" -S "$src/sdk/template" -B "$work/cmake-build" -G "$generator" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
"$cmake" --build "$work/cmake-build" >/dev/null

step "build the template with pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists hostd-sdk
# shellcheck disable=SC2046  # the flags must split into words
"$cxx" -std=c++20 -Wall -Wextra -Werror $(pkg-config --cflags hostd-sdk) $(pkg-config --variable=cxxflags hostd-sdk) \
  -o "$work/hello_pc.so" "$src/sdk/template/hello.cpp" $(pkg-config --libs hostd-sdk)

step "check both with the installed hostd-plugin-check"
"$prefix/bin/hostd-plugin-check" --strict "$work/cmake-build/hello.so" --config="$src/sdk/template/hello.conf"
"$prefix/bin/hostd-plugin-check" --strict "$work/hello_pc.so"

step "run both in hostd"
mkdir -m 755 "$work/plugins" "$work/hostd.conf.d"
install -m 644 "$work/cmake-build/hello.so" "$work/hello_pc.so" "$work/plugins/"
cp "$src/sdk/template/hello.conf" "$work/hostd.conf.d/hello.conf"
printf '[hostd]\nplugin_dir = %s\ncontrol_socket = %s\n\n[plugin.hello_pc]\nwho = pkg-config\n' "$work/plugins" "$work/control.sock" >"$work/hostd.conf"
log=$work/hostd.log
"$hostd" --config="$work/hostd.conf" >"$log" 2>&1 &
hostd_pid=$!
wait_for() {
  for _ in $(seq 1 300); do
    if grep -qF "$1" "$log"; then return 0; fi
    sleep 0.05
  done
  echo "template_test: no '$1' in the hostd log:" >&2
  cat "$log" >&2
  return 1
}
wait_for "hostd: ready running=2"
wait_for "hello, operator"      # hello.so, configured by the template's drop-in
wait_for "hello, pkg-config"    # hello_pc.so, configured in hostd.conf
kill -TERM "$hostd_pid"
code=0
wait "$hostd_pid" || code=$?
hostd_pid=
if [ "$code" -ne 0 ]; then
  echo "template_test: hostd exited with $code after SIGTERM" >&2
  cat "$log" >&2
  exit 1
fi
wait_for "goodbye, operator"
wait_for "goodbye, pkg-config"
echo "template_test: ok"

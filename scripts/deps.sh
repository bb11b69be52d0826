#!/usr/bin/env bash
# Installs the Debian 12 packages hostd needs to build and test, plus any named as arguments.
# Skips apt entirely when everything is already installed, so repeated runs are fast and work
# offline.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libpoco-dev libcap-dev libssl-dev libxxhash-dev libseccomp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  abigail-tools   # abidiff for the SDK's ABI test (skipped without it)
  dpkg-dev        # dpkg-deb and dpkg-shlibdeps: the .deb (cpack -G DEB) and its test
  systemd         # systemd-analyze verify/security on etc/hostd.service (skipped without it)
)

packages+=("$@")  # extra packages a caller needs (scripts/fuzz.sh: clang and libFuzzer)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

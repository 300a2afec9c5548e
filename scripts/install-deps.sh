#!/bin/sh
# Installs the Debian packages nac needs to build, test and benchmark, when they are missing.
set -e
PKGS="build-essential pkg-config libsndfile1-dev libsoxr-dev libfftw3-dev libpng-dev zlib1g-dev"
# benchmark peers and tools (OpenBLAS is the peer of the kernel benchmark; libnac does not use it)
[ "${NAC_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS libopenblas-dev opus-tools codec2 sox python3-torch python3-sklearn python3-numpy python3-scipy python3-soundfile"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

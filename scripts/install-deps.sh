#!/bin/sh
# Installs the Debian packages nac needs to build, test and benchmark, when they are missing.
set -e
PKGS="build-essential pkg-config libsndfile1-dev libsoxr-dev libfftw3-dev libopenblas-dev libpng-dev zlib1g-dev"
PKGS="$PKGS clang libomp-dev"  # make fuzz: libFuzzer comes with clang; clang's OpenMP
[ "${NAC_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS opus-tools codec2 sox python3-torch python3-sklearn python3-numpy"
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

#!/bin/sh
# Installs the Debian packages nac needs to build, test and benchmark, when they are missing.
set -e
PKGS="build-essential pkg-config libsndfile1-dev libsoxr-dev libfftw3-dev libpng-dev zlib1g-dev"
PKGS="$PKGS clang libomp-dev"  # make fuzz: libFuzzer comes with clang; clang's OpenMP
PKGS="$PKGS libopenmpi-dev openmpi-bin"  # make MPI=1 / make test-mpi: data-parallel training
# benchmark peers and tools (OpenBLAS is the peer of the kernel benchmark; libnac does not use it)
[ "${NAC_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS libopenblas-dev opus-tools codec2 sox python3-torch python3-sklearn python3-numpy python3-scipy python3-soundfile"
# make test-browser: Chromium, node and npm (puppeteer-core comes from npm, below); opus-tools and
# codec2 so the page is tested with every condition
if [ "${NAC_BROWSER_DEPS:-0}" = 1 ]; then
  PKGS="$PKGS chromium opus-tools codec2"
  command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"  # a node from elsewhere brings its own npm
fi
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
# puppeteer-core for make test-browser, into tests/browser/node_modules (git-ignored), at the
# version pinned by tests/browser/package-lock.json
if [ "${NAC_BROWSER_DEPS:-0}" = 1 ] && [ ! -d "$(dirname "$0")/../tests/browser/node_modules/puppeteer-core" ]; then
  echo "install-deps: installing puppeteer-core into tests/browser/node_modules"
  (cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi

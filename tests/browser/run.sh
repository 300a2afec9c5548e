#!/bin/sh
# `make test-browser`: builds a small listening test with `nac listen make` and drives it through
# headless Chromium (listen.test.mjs). Skipped, with a message, only when Chromium is missing.
# Screenshots, the downloaded CSV and the report chart land in build/browser/.
set -eu
cd "$(dirname "$0")/../.."
NAC_BIN=${NAC_BIN:-build/nac}
OUT_DIR=build/browser
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "SKIP test-browser: Chromium is not installed and could not be installed (Debian: apt-get install chromium)"
    exit 0
fi
if ! command -v node >/dev/null 2>&1; then
    echo "test-browser: node is missing (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
if [ ! -d tests/browser/node_modules/puppeteer-core ]; then
    echo "test-browser: tests/browser/node_modules/puppeteer-core is missing: NAC_BROWSER_DEPS=1 sh scripts/install-deps.sh" >&2
    exit 1
fi
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

# Three dev files when ../shared is there (the issue's check), otherwise committed fixtures.
if [ -d ../shared/data/dev ]; then
    set -- ../shared/data/dev --items 3
else
    set -- tests/fixtures/speech_thorsten_de.flac tests/fixtures/metrics_clean_16k.wav tests/fixtures/metrics_noisy_10_16k.wav
fi
conds=nac:1.5,nac:6,nac:24
command -v opusenc >/dev/null 2>&1 && conds=$conds,opus:6,opus:12
command -v c2enc >/dev/null 2>&1 && conds=$conds,codec2:3200
"$NAC_BIN" listen make "$@" --conditions "$conds" --max-seconds 4 --seed 3 --out "$OUT_DIR/test"

start=$(date +%s)
NAC_BIN="$NAC_BIN" TEST_DIR="$OUT_DIR/test" OUT_DIR="$OUT_DIR" CHROMIUM="$CHROMIUM" \
    node tests/browser/listen.test.mjs
echo "test-browser: the page test took $(( $(date +%s) - start )) s; screenshots in $OUT_DIR/"

# The listener's CSV through the report.
"$NAC_BIN" listen report "$OUT_DIR/results.csv" --out "$OUT_DIR/report.png"

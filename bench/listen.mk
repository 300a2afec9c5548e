# nac listen: the page's files are assembled into the library (src/listen/assets.c, .incbin).
$(BUILD)/src/listen/assets.o: $(wildcard src/listen/assets/*)

# `make test-browser`: the listening-test page driven through a whole test by headless Chromium
# (tests/browser/). Installs Chromium and puppeteer-core when missing (scripts/install-deps.sh with
# NAC_BROWSER_DEPS=1); skipped, with a message, only when Chromium cannot be installed.
test-browser: $(BUILD)/nac
	NAC_BROWSER_DEPS=1 sh scripts/install-deps.sh || echo "test-browser: installing the browser dependencies failed"
	NAC_BIN=$(BUILD)/nac sh tests/browser/run.sh
.PHONY: test-browser

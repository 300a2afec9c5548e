# nac build. `make` builds build/libnac.a, build/libnac.so, build/nac and build/nac_tests.
# Sources are found by wildcard: a new src/<module>/<file>.c is part of libnac, a new
# tests/test_<module>.c joins the runner (its TEST(name) functions are registered automatically).
CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
NAC_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -fPIC -fopenmp -Iinclude -Isrc \
             $(shell pkg-config --cflags sndfile soxr fftw3f libpng zlib 2>/dev/null)
LIBS    = $(shell pkg-config --libs sndfile soxr fftw3f libpng zlib) -lm -fopenmp -lpthread
# MPI=1: data-parallel training under mpirun (Open MPI; src/train/comm.c, docs/training.md)
ifeq ($(MPI),1)
NAC_CFLAGS += -DNAC_HAVE_MPI $(shell mpicc --showme:compile)
LIBS    += $(shell mpicc --showme:link)
endif

LIB_SRC  := $(sort $(shell find src -name '*.c'))
TOOL_SRC := $(sort $(wildcard tools/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/registry.o
DEPS     := $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

all: $(BUILD)/libnac.a $(BUILD)/libnac.so $(BUILD)/nac $(BUILD)/nac_tests

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libnac.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Shared library: SONAME libnac.so.<major> (the major of NAC_VERSION_STRING; bumped when the ABI
# breaks), only nac_* symbols exported (src/libnac.map). build/libnac.so is the real file; install
# names it libnac.so.$(VERSION) with the usual two links.
VERSION := $(shell sed -n 's/^\#define NAC_VERSION_STRING "\(.*\)"/\1/p' include/nac/nac.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
$(BUILD)/libnac.so: $(LIB_OBJ) src/libnac.map
	$(CC) -shared -Wl,-soname,libnac.so.$(SOMAJOR) -Wl,--version-script=src/libnac.map -o $@ $(LIB_OBJ) $(LIBS)

$(BUILD)/nac: $(TOOL_OBJ) $(BUILD)/libnac.a
	$(CC) -o $@ $(TOOL_OBJ) $(BUILD)/libnac.a $(LIBS)

# The built-in model is assembled into the library (.incbin): the weight file and its model image
# (src/model/model_image.h), which a build tool linked from the rest of the library freezes.
CORE_OBJ := $(filter-out $(BUILD)/src/model/default_model.o,$(LIB_OBJ))
$(BUILD)/model_freeze: scripts/model_freeze.c $(CORE_OBJ)
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(LIBS)

$(BUILD)/default_model.img: models/default.nacw $(BUILD)/model_freeze
	$(BUILD)/model_freeze models/default.nacw $@

$(BUILD)/src/model/default_model.o: models/default.nacw $(BUILD)/default_model.img
$(BUILD)/src/model/default_model.o: NAC_CFLAGS += -DNAC_MODEL_IMAGE='"$(BUILD)/default_model.img"'

# Test registry: every `TEST(name)` at the start of a line in tests/*.c.
$(BUILD)/tests/registry.c: $(TEST_SRC) Makefile
	@mkdir -p $(dir $@)
	@{ echo '#include "test.h"'; \
	   grep -h '^TEST(' $(TEST_SRC) | sed 's/^TEST(\([A-Za-z0-9_]*\)).*/void nac_test_\1(nac_test *t_);/'; \
	   echo 'const nac_test_case nac_test_cases[] = {'; \
	   grep -h '^TEST(' $(TEST_SRC) | sed 's/^TEST(\([A-Za-z0-9_]*\)).*/    {"\1", nac_test_\1},/'; \
	   echo '    {0, 0}};'; } > $@

$(BUILD)/tests/registry.o: $(BUILD)/tests/registry.c
	$(CC) $(NAC_CFLAGS) -Itests $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(NAC_CFLAGS) -Itests $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/nac_tests: $(TEST_OBJ) $(BUILD)/libnac.a
	$(CC) -o $@ $(TEST_OBJ) $(BUILD)/libnac.a $(LIBS)

test: $(BUILD)/nac_tests $(BUILD)/nac
	NAC_BIN=$(BUILD)/nac $(BUILD)/nac_tests

# The main job on the built-in model: encode the committed speech clip at 6 and 1.5 kbps, decode,
# measure, and draw the comparison.
DEMO_IN ?= tests/fixtures/speech_thorsten_de.flac
demo: $(BUILD)/nac
	@mkdir -p demo
	$(BUILD)/nac info default
	@for k in 6 1.5; do \
	  $(BUILD)/nac encode $(DEMO_IN) demo/speech_$${k}kbps.nac --kbps $$k && \
	  $(BUILD)/nac decode demo/speech_$${k}kbps.nac demo/speech_$${k}kbps.wav && \
	  ls -l demo/speech_$${k}kbps.nac && \
	  $(BUILD)/nac eval $(DEMO_IN) demo/speech_$${k}kbps.wav || exit 1; done
	$(BUILD)/nac plot compare $(DEMO_IN) demo/speech_6kbps.wav demo/compare_6kbps.png
	@echo "listen: demo/speech_6kbps.wav and demo/speech_1.5kbps.wav (original: $(DEMO_IN)); picture: demo/compare_6kbps.png"

# Trains the built-in model (resuming from models/default.nacw.ckpt when it exists, so the run
# continues across sessions). MODEL_TIME limits the wall time in seconds (0: until MODEL_STEPS).
MODEL_STEPS ?= 200000
MODEL_TIME ?= 0
model: $(BUILD)/nac
	OMP_WAIT_POLICY=passive $(BUILD)/nac train --data ../shared/data/train --val ../shared/data/dev --out models/default.nacw \
	  --steps $(MODEL_STEPS) --time-limit $(MODEL_TIME) --save-every 100 --val-every 500 --compact --seed 1 \
	  --log models/default.csv

# Sanitizer build in its own folder: the whole suite, the CLI tests running the sanitized nac. Any
# report fails (UBSan does not recover).
asan:
	$(MAKE) BUILD=build/asan OPT=-O1 CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  LIBS="$(LIBS) -fsanitize=address,undefined" build/asan/nac_tests build/asan/nac
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 NAC_BIN=build/asan/nac build/asan/nac_tests

deps:
	sh scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/nac $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libnac.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libnac.so $(DESTDIR)$(PREFIX)/lib/libnac.so.$(VERSION)
	ln -sf libnac.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libnac.so.$(SOMAJOR)
	ln -sf libnac.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libnac.so
	install -m 644 include/nac/*.h $(DESTDIR)$(PREFIX)/include/nac/
	install -m 755 $(BUILD)/nac $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' nac.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nac.pc

clean:
	rm -rf $(BUILD)

-include $(wildcard bench/*.mk)
-include $(DEPS)

.PHONY: all test demo model asan deps install clean

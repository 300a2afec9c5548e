# Fuzzing (docs/robustness.md): libFuzzer targets in fuzz/, built with clang, AddressSanitizer and
# UBSan over a clang build of libnac in build/fuzz. `make fuzz FUZZ_TIME=60` runs each target for
# FUZZ_TIME seconds from its committed seeds (fuzz/corpus/<target>) plus what earlier runs found
# (build/fuzz/corpus/<target>), with a memory cap and a time limit per input; `make -j2 fuzz` runs
# two at a time. A crash, leak, sanitizer report, timeout or memory overrun fails the target and
# leaves the input in build/fuzz/<target>-crash-*. `make fuzz-seeds` rewrites the seed corpora.
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= nac weights f32 audio tcx vocoder enhance listen vqvae
FUZZ_BUILD := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_LIMITS := -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10
fuzz_max_len_nac := 8192
fuzz_max_len_weights := 32768
fuzz_max_len_f32 := 4096
fuzz_max_len_audio := 16384
fuzz_max_len_tcx := 8192
fuzz_max_len_vocoder := 512
fuzz_max_len_enhance := 32768
fuzz_max_len_listen := 8192
fuzz_max_len_vqvae := 32768

fuzz-lib:
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) CFLAGS="-O2 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/libnac.a

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz-lib
	clang $(NAC_CFLAGS) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_BUILD)/libnac.a $(LIBS) -o $@

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))

$(addprefix fuzz-run-,$(FUZZ_TARGETS)): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$*
	@echo "fuzz $*: $(FUZZ_TIME) s (log: $(FUZZ_BUILD)/fuzz_$*.log)"
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=1 \
	  $(FUZZ_BUILD)/fuzz_$* $(FUZZ_LIMITS) -max_len=$(fuzz_max_len_$*) -max_total_time=$(FUZZ_TIME) \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/$*-crash- \
	  $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$* > $(FUZZ_BUILD)/fuzz_$*.log 2>&1 \
	  || { tail -60 $(FUZZ_BUILD)/fuzz_$*.log; echo "fuzz $*: FAILED"; exit 1; }
	@grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" $(FUZZ_BUILD)/fuzz_$*.log | tr '\n' ' ' | \
	  sed 's/^/fuzz $*: /; s/$$/\n/'

fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-seeds: $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) fuzz/seeds.c $(BUILD)/libnac.a $(LIBS) -o $(BUILD)/fuzz_seeds
	mkdir -p $(addprefix fuzz/corpus/,$(FUZZ_TARGETS))
	$(BUILD)/fuzz_seeds

.PHONY: fuzz fuzz-lib fuzz-build fuzz-seeds $(addprefix fuzz-run-,$(FUZZ_TARGETS))

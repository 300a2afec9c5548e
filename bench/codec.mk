# `make bench-codec`: nac against Opus and Codec 2 on ../shared/data/dev (bench/bench_codec.py).
BENCH_CODEC_ARGS ?=
bench-codec: $(BUILD)/nac
	NAC_BENCH_DEPS=1 sh scripts/install-deps.sh
	python3 bench/bench_codec.py --nac $(BUILD)/nac $(BENCH_CODEC_ARGS)

bench: bench-codec
.PHONY: bench-codec

# `make codec-gap`: how much of nac's gap to the input is in its magnitudes, how much in its phase.
CODEC_GAP_ARGS ?=
codec-gap: $(BUILD)/nac
	NAC_BENCH_DEPS=1 sh scripts/install-deps.sh
	/usr/bin/python3 bench/codec_gap.py --nac $(BUILD)/nac $(CODEC_GAP_ARGS)
.PHONY: codec-gap

# `make code-entropy`: the real information in each RVQ stage's codes (issue 14, item 2).
CODE_ENTROPY_ARGS ?=
code-entropy: $(BUILD)/nac
	/usr/bin/python3 bench/code_entropy.py --nac $(BUILD)/nac $(CODE_ENTROPY_ARGS)
.PHONY: code-entropy

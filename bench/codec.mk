# `make bench-codec`: nac against Opus and Codec 2 on ../shared/data/dev (bench/bench_codec.py).
BENCH_CODEC_ARGS ?=
bench-codec: $(BUILD)/nac
	NAC_BENCH_DEPS=1 sh scripts/install-deps.sh
	python3 bench/bench_codec.py --nac $(BUILD)/nac $(BENCH_CODEC_ARGS)

bench: bench-codec
.PHONY: bench-codec

# `make bench-vocoder`: the harmonic vocoder (unquantised and at 0.7/1.2/1.6 kbps) beside Codec 2 on
# ../shared/data/dev (bench/bench_vocoder.py). BENCH_VOCODER_ARGS="--every 4" for a quick sample.
BENCH_VOCODER_ARGS ?=
bench-vocoder: $(BUILD)/nac
	NAC_BENCH_DEPS=1 sh scripts/install-deps.sh
	/usr/bin/python3 bench/bench_vocoder.py --nac $(BUILD)/nac $(BENCH_VOCODER_ARGS)
.PHONY: bench-vocoder

# The vocoder's codebooks are assembled into the library (.incbin), so its object depends on the file.
$(BUILD)/src/vocoder/codebooks.o: models/vocoder_vq.f32

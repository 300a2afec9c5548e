# `make bench-engine`: the same SEANet-style autoencoder trained and run in nac and in PyTorch; prints
# steps/s, real-time factors and their ratios (bench/bench_engine.py drives build/bench_engine).
BENCH_ENGINE_ARGS ?=
$(BUILD)/bench_engine: bench/bench_engine.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)

bench-engine: $(BUILD)/bench_engine
	/usr/bin/python3 bench/bench_engine.py --bin $(BUILD)/bench_engine $(BENCH_ENGINE_ARGS)

bench: bench-engine
.PHONY: bench-engine

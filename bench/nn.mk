# nn kernel benchmark: make BUILD=build/nn build/nn/bench_nn && build/nn/bench_nn
$(BUILD)/bench_nn: $(BUILD)/bench/bench_nn.o $(BUILD)/libnac.a
	$(CC) -o $@ $(BUILD)/bench/bench_nn.o $(BUILD)/libnac.a $(LIBS) -lopenblas  # the peer in this benchmark; libnac does not use OpenBLAS

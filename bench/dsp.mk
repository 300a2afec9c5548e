# Benchmarks of the DSP layer and spectral losses: make BUILD=... $(BUILD)/bench_loss
$(BUILD)/bench_loss: bench/bench_loss.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)

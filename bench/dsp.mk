# Benchmarks of the DSP layer and spectral losses: make BUILD=... $(BUILD)/bench_loss
# (PyTorch peer: /usr/bin/python3 bench/bench_loss.py)
$(BUILD)/bench_loss: bench/bench_loss.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)

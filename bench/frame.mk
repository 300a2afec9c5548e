# `make bench-frame`: per-frame cost of the streaming API against batched calls (bench/bench_frame.c).
$(BUILD)/bench_frame: bench/bench_frame.c $(BUILD)/libnac.a
	$(CC) $(NAC_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnac.a $(LIBS)

bench-frame: $(BUILD)/bench_frame
	OMP_WAIT_POLICY=passive $(BUILD)/bench_frame 6
.PHONY: bench-frame

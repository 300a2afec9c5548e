# Enhancement models (src/enhance): built-in models are assembled into the library, so the object
# depends on the files; `make bench-enhance` measures them on dev mixtures.
ENH_MODELS := models/enhance_denoise.nacw models/enhance_dequantize.nacw models/enhance_bwe.nacw
$(BUILD)/src/enhance/builtin.o: $(ENH_MODELS)

# `make bench-enhance`: each built-in model on degraded dev speech (bench/bench_enhance.py): one table
# of task, condition, input -> output metrics and speed. BENCH_ENHANCE_ARGS="--every 1" for all files.
BENCH_ENHANCE_ARGS ?=
bench-enhance: $(BUILD)/nac
	python3 bench/bench_enhance.py --nac $(BUILD)/nac $(BENCH_ENHANCE_ARGS)
.PHONY: bench-enhance

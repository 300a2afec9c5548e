# Enhancement models (src/enhance): built-in models are assembled into the library, so the object
# depends on the files; `make bench-enhance` measures them on dev mixtures.
ENH_MODELS := models/enhance_denoise.nacw models/enhance_dequantize.nacw models/enhance_bwe.nacw
$(BUILD)/src/enhance/builtin.o: $(ENH_MODELS)

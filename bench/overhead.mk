# `make overhead`: .nac file size against nominal rate x duration, 3 s and 60 s clips (issue 14).
OVERHEAD_ARGS ?=
overhead: $(BUILD)/nac
	/usr/bin/python3 bench/overhead.py --nac $(BUILD)/nac $(OVERHEAD_ARGS)
.PHONY: overhead

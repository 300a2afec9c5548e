# The VBR probability tables are assembled into the library (src/packet/vbr.c, .incbin).
$(BUILD)/src/packet/vbr.o: models/vbr_default.bin

# `make vbr`: VBR against constant rate on dev: real bitrates, saving, identical audio (bench/vbr.py).
VBR_ARGS ?=
vbr: $(BUILD)/nac
	/usr/bin/python3 bench/vbr.py --nac $(BUILD)/nac $(VBR_ARGS)
.PHONY: vbr

# `make vbr-table`: learns models/vbr_default.bin from the training set (docs/format.md 2.3.3).
VBR_TABLE_ARGS ?= --every 4
vbr-table: $(BUILD)/nac
	cp $(BUILD)/nac $(BUILD)/nac_table
	OMP_NUM_THREADS=1 /usr/bin/python3 bench/code_entropy.py --nac $(BUILD)/nac_table --data ../shared/data/train \
	  $(VBR_TABLE_ARGS) --write-table models/vbr_default.bin
.PHONY: vbr-table

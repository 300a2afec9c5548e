# The VBR probability tables are assembled into the library (src/packet/vbr.c, .incbin).
$(BUILD)/src/packet/vbr.o: models/vbr_default.bin

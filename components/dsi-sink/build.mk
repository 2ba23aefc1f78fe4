# dsi-sink: a DSI sink component (README.md), linked with the musl build of dsi/.
$(eval $(call musl_program,dsi-sink,components/dsi-sink/main.c))
MUSL_LIBS_dsi-sink := $(BUILD)/dsi-musl/libdsi.a
$(BUILD)/user/dsi-sink.elf: $(BUILD)/dsi-musl/libdsi.a

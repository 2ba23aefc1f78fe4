# dsi-source: a DSI source component (README.md), linked with the musl build of dsi/.
$(eval $(call musl_program,dsi-source,components/dsi-source/main.c))
MUSL_LIBS_dsi-source := $(BUILD)/dsi-musl/libdsi.a
$(BUILD)/user/dsi-source.elf: $(BUILD)/dsi-musl/libdsi.a

# dsi-filter: a DSI filter component (README.md), linked with the musl build of dsi/.
$(eval $(call musl_program,dsi-filter,components/dsi-filter/main.c))
MUSL_LIBS_dsi-filter := $(BUILD)/dsi-musl/libdsi.a
$(BUILD)/user/dsi-filter.elf: $(BUILD)/dsi-musl/libdsi.a

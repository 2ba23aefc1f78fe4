# dsi-chain: a DSI controller application (README.md).
$(eval $(call musl_program,dsi-chain,apps/dsi-chain/main.c))
MUSL_LIBS_dsi-chain := $(BUILD)/dsi-musl/libdsi.a
$(BUILD)/user/dsi-chain.elf: $(BUILD)/dsi-musl/libdsi.a

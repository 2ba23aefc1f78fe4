$(eval $(call musl_program,kvstore,apps/kvstore/main.c))

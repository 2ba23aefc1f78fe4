$(eval $(call musl_program,wave,apps/wave/main.c))
MUSL_LIBS_wave := -lm

$(eval $(call musl_program,analyzer,apps/analyzer/main.c))
MUSL_LIBS_analyzer := -lm

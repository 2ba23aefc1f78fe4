# The admission server: a component linked with libqas and the part of GSL
# it needs, both built for the target by admission/target.mk (included after
# this file, so its paths are spelled out here: QAS_TARGET_LIB, GSL_LIB and
# GSL_HEADERS there).
$(eval $(call musl_program,admission,components/admission/main.c))
ADM_QAS_LIB := $(BUILD)/admission-target/libqas.a
ADM_GSL_LIB := $(BUILD)/gsl-target/libgsl.a
MUSL_LIBS_admission := $(ADM_QAS_LIB) $(ADM_GSL_LIB) -lm
$(BUILD)/user/admission.elf: $(ADM_QAS_LIB) $(ADM_GSL_LIB)
$(MUSL_OBJ)/components/admission/main.o: MUSL_CFLAGS += -Iadmission -I$(BUILD)/gsl-target/include
$(MUSL_OBJ)/components/admission/main.o: | $(BUILD)/gsl-target/include/gsl/.linked

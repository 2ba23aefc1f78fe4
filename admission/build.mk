# admission/: libqas (the QAS/QRMS/WCET admission analysis, host build) and
# the host CLI `qas`. GSL comes from Debian's libgsl-dev (tools/deps.sh,
# group build); the target build (GSL from Debian's gsl source package) is
# admission/target.mk.
#
#   make qas          $(BUILD)/host/qas
#   make test-host    includes the libqas tests (tests/host/test_qas*.c)

QAS_LIB_SRCS := admission/qas_dist.c admission/qas_rta.c admission/qas.c \
	admission/qas_parse.c admission/qas_sim.c
QAS_LIBS     := -lgsl -lgslcblas -lm
QAS_CFLAGS   := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -Iadmission -MMD -MP
QAS_OBJ      := $(BUILD)/host/qas-obj
QAS_BIN      := $(BUILD)/host/qas

.PHONY: qas
qas: $(QAS_BIN)

$(QAS_OBJ)/%.o: admission/%.c | deps-build
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(QAS_CFLAGS) -c -o $@ $<

$(QAS_BIN): $(patsubst admission/%.c,$(QAS_OBJ)/%.o,$(QAS_LIB_SRCS) admission/qas_main.c)
	$(Q)$(HOSTCC) $(QAS_CFLAGS) -o $@ $^ $(QAS_LIBS)

-include $(wildcard $(QAS_OBJ)/*.d)

# Host tests: each links the whole library (it is small) and GSL.
QAS_TESTS := $(patsubst tests/host/test_%.c,%,$(wildcard tests/host/test_qas*.c))
$(foreach t,$(QAS_TESTS),$(eval HOST_TEST_SRCS_$(t) := $(QAS_LIB_SRCS)))
$(foreach t,$(QAS_TESTS),$(eval HOST_TEST_LIBS_$(t) := $(QAS_LIBS)))

# Host tools built with the system. Included by the top Makefile.
#
# scenario-check: the scenario parser (lib/scenario.c, also linked into the
# root task) on the host; tools/scenario.sh gets the boot module list from
# it, and `make check` runs it over every scenario in the tree.

SCENARIO_CHECK := $(BUILD)/host/scenario-check
SCENARIO_FILES := $(sort $(wildcard config/*.scenario tests/system/*.scenario bench/*/*.scenario))

$(SCENARIO_CHECK): tools/scenario-check.c lib/scenario.c lib/include/drops/scenario.h \
		lib/include/drops/string.h $(wildcard include/abi/*.h)
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -Ilib/include \
		-o $@ tools/scenario-check.c lib/scenario.c

.PHONY: check
# Every scenario parses, and every program and file it names is built or present.
check: all
	$(SCENARIO_CHECK) --build $(BUILD) $(SCENARIO_FILES)
	@echo "check: $(words $(SCENARIO_FILES)) scenarios ok"

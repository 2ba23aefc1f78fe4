# Components of the system tests (tests/system/*.scenario in component
# form): tests/system/components/<name>.c -> $(BUILD)/user/tc_<name>.elf,
# each a musl-linked component.
$(foreach t,$(sort $(wildcard tests/system/components/*.c)),\
  $(eval $(call musl_program,tc_$(basename $(notdir $(t))),$(t))))

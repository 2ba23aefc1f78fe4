# The root task: native (it is the first program the kernel starts).
$(eval $(call user_program,root,$(sort $(wildcard components/root/*.c))))

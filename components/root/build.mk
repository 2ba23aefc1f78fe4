# The root task: native (it is the first program the kernel starts).
$(eval $(call user_program,root,$(sort $(wildcard components/root/*.c))))

# The names of Linux's system calls, for the backend's -ENOSYS messages,
# generated from Debian's linux-libc-dev header.
ROOT_GEN := $(BUILD)/gen/linux_syscall_names.h
$(ROOT_GEN): tools/gen-linux-syscalls.sh
	@mkdir -p $(@D)
	$(Q)tools/gen-linux-syscalls.sh $@
$(BUILD)/user-obj/components/root/backend.o: $(ROOT_GEN)
$(BUILD)/user-obj/components/root/backend.o: USER_CFLAGS += -I$(BUILD)/gen

build-caps/kernel/boot_info.o: kernel/boot_info.c kernel/boot_info.h \
 include/abi/kip.h include/abi/types.h kernel/arch/x86_64/arch_cpu.h
kernel/boot_info.h:
include/abi/kip.h:
include/abi/types.h:
kernel/arch/x86_64/arch_cpu.h:

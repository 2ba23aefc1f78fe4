build-caps/kernel/kip.o: kernel/kip.c kernel/kip.h include/abi/kip.h \
 include/abi/types.h kernel/arch/x86_64/arch_cpu.h kernel/console.h \
 kernel/kmem.h
kernel/kip.h:
include/abi/kip.h:
include/abi/types.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/console.h:
kernel/kmem.h:

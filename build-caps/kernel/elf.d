build-caps/kernel/elf.o: kernel/elf.c kernel/elf.h include/abi/ipc.h \
 include/abi/types.h include/abi/kip.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h kernel/kmem.h kernel/memory.h \
 kernel/task.h kernel/arch/x86_64/arch_paging.h kernel/cap_table.h \
 kernel/object.h include/abi/objects.h kernel/lib.h
kernel/elf.h:
include/abi/ipc.h:
include/abi/types.h:
include/abi/kip.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:
kernel/kmem.h:
kernel/memory.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/cap_table.h:
kernel/object.h:
include/abi/objects.h:
kernel/lib.h:

build-caps/kernel/task.o: kernel/task.c kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/cap_table.h kernel/object.h \
 include/abi/objects.h include/abi/types.h include/abi/errors.h \
 include/abi/kip.h kernel/factory.h kernel/kip.h kernel/kmem.h \
 kernel/memory.h kernel/thread.h include/abi/exception.h \
 include/abi/ipc.h include/abi/utcb.h include/abi/ipc.h \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_trap.h
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/cap_table.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
include/abi/errors.h:
include/abi/kip.h:
kernel/factory.h:
kernel/kip.h:
kernel/kmem.h:
kernel/memory.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/ipc.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

build-caps/kernel/memory.o: kernel/memory.c kernel/memory.h \
 include/abi/errors.h include/abi/ipc.h include/abi/types.h \
 include/abi/kip.h kernel/arch/x86_64/arch_paging.h kernel/console.h \
 kernel/factory.h kernel/object.h include/abi/objects.h kernel/kmem.h \
 kernel/mapdb.h kernel/sched.h kernel/task.h kernel/cap_table.h \
 kernel/thread.h include/abi/exception.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h
kernel/memory.h:
include/abi/errors.h:
include/abi/ipc.h:
include/abi/types.h:
include/abi/kip.h:
kernel/arch/x86_64/arch_paging.h:
kernel/console.h:
kernel/factory.h:
kernel/object.h:
include/abi/objects.h:
kernel/kmem.h:
kernel/mapdb.h:
kernel/sched.h:
kernel/task.h:
kernel/cap_table.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

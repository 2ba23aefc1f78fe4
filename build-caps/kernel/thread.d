build-caps/kernel/thread.o: kernel/thread.c kernel/thread.h \
 include/abi/exception.h include/abi/types.h include/abi/ipc.h \
 include/abi/utcb.h include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h kernel/object.h include/abi/objects.h \
 include/abi/errors.h kernel/console.h kernel/factory.h kernel/gate.h \
 kernel/ipc.h kernel/irq.h kernel/kip.h include/abi/kip.h kernel/kmem.h \
 kernel/sched.h kernel/task.h kernel/arch/x86_64/arch_paging.h \
 kernel/cap_table.h kernel/lib.h
kernel/thread.h:
include/abi/exception.h:
include/abi/types.h:
include/abi/ipc.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:
kernel/object.h:
include/abi/objects.h:
include/abi/errors.h:
kernel/console.h:
kernel/factory.h:
kernel/gate.h:
kernel/ipc.h:
kernel/irq.h:
kernel/kip.h:
include/abi/kip.h:
kernel/kmem.h:
kernel/sched.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/cap_table.h:
kernel/lib.h:

build-caps/kernel/syscall.o: kernel/syscall.c kernel/syscall.h \
 include/abi/syscalls.h include/abi/errors.h \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_trap.h \
 kernel/cap_table.h kernel/console.h kernel/factory.h kernel/object.h \
 include/abi/objects.h include/abi/types.h kernel/fault.h kernel/gate.h \
 kernel/ipc.h include/abi/ipc.h kernel/irq.h kernel/kmem.h \
 kernel/memory.h kernel/sched.h kernel/stats.h kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/thread.h include/abi/exception.h \
 include/abi/utcb.h include/abi/ipc.h
kernel/syscall.h:
include/abi/syscalls.h:
include/abi/errors.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:
kernel/cap_table.h:
kernel/console.h:
kernel/factory.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
kernel/fault.h:
kernel/gate.h:
kernel/ipc.h:
include/abi/ipc.h:
kernel/irq.h:
kernel/kmem.h:
kernel/memory.h:
kernel/sched.h:
kernel/stats.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/utcb.h:
include/abi/ipc.h:

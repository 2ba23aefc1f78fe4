build-caps/kernel/fault.o: kernel/fault.c kernel/fault.h \
 include/abi/errors.h include/abi/exception.h include/abi/types.h \
 kernel/arch/x86_64/arch_apic.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h kernel/cap_table.h kernel/console.h \
 kernel/gate.h kernel/object.h include/abi/objects.h kernel/ipc.h \
 include/abi/ipc.h kernel/irq.h kernel/memory.h kernel/sched.h \
 kernel/stats.h kernel/syscall.h include/abi/syscalls.h kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/thread.h include/abi/utcb.h \
 include/abi/ipc.h
kernel/fault.h:
include/abi/errors.h:
include/abi/exception.h:
include/abi/types.h:
kernel/arch/x86_64/arch_apic.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:
kernel/cap_table.h:
kernel/console.h:
kernel/gate.h:
kernel/object.h:
include/abi/objects.h:
kernel/ipc.h:
include/abi/ipc.h:
kernel/irq.h:
kernel/memory.h:
kernel/sched.h:
kernel/stats.h:
kernel/syscall.h:
include/abi/syscalls.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/thread.h:
include/abi/utcb.h:
include/abi/ipc.h:

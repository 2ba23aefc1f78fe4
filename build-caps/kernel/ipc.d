build-caps/kernel/ipc.o: kernel/ipc.c kernel/ipc.h include/abi/ipc.h \
 include/abi/types.h include/abi/errors.h kernel/cap_table.h \
 kernel/gate.h kernel/object.h include/abi/objects.h kernel/irq.h \
 kernel/memory.h kernel/sched.h kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/thread.h include/abi/exception.h \
 include/abi/utcb.h include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h
kernel/ipc.h:
include/abi/ipc.h:
include/abi/types.h:
include/abi/errors.h:
kernel/cap_table.h:
kernel/gate.h:
kernel/object.h:
include/abi/objects.h:
kernel/irq.h:
kernel/memory.h:
kernel/sched.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

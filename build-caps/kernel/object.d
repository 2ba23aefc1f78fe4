build-caps/kernel/object.o: kernel/object.c kernel/object.h \
 include/abi/objects.h include/abi/types.h kernel/cap_table.h \
 kernel/factory.h kernel/gate.h kernel/irq.h kernel/sched.h kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/thread.h include/abi/exception.h \
 include/abi/ipc.h include/abi/utcb.h include/abi/ipc.h \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_trap.h
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
kernel/cap_table.h:
kernel/factory.h:
kernel/gate.h:
kernel/irq.h:
kernel/sched.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/ipc.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

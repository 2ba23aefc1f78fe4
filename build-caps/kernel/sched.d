build-caps/kernel/sched.o: kernel/sched.c kernel/sched.h \
 include/abi/errors.h kernel/arch/x86_64/arch_apic.h \
 kernel/arch/x86_64/arch_cpu.h kernel/stats.h kernel/task.h \
 kernel/arch/x86_64/arch_paging.h kernel/cap_table.h kernel/object.h \
 include/abi/objects.h include/abi/types.h kernel/thread.h \
 include/abi/exception.h include/abi/ipc.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_trap.h
kernel/sched.h:
include/abi/errors.h:
kernel/arch/x86_64/arch_apic.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/stats.h:
kernel/task.h:
kernel/arch/x86_64/arch_paging.h:
kernel/cap_table.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/ipc.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_trap.h:

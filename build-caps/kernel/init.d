build-caps/kernel/init.o: kernel/init.c include/abi/errors.h \
 include/abi/kip.h include/abi/types.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_apic.h \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_paging.h \
 kernel/boot_info.h kernel/cap_table.h kernel/console.h kernel/elf.h \
 kernel/factory.h kernel/object.h include/abi/objects.h kernel/fault.h \
 kernel/irq.h kernel/kip.h kernel/kmem.h kernel/memory.h kernel/sched.h \
 kernel/task.h kernel/thread.h include/abi/exception.h include/abi/ipc.h \
 kernel/arch/x86_64/arch_trap.h
include/abi/errors.h:
include/abi/kip.h:
include/abi/types.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_apic.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_paging.h:
kernel/boot_info.h:
kernel/cap_table.h:
kernel/console.h:
kernel/elf.h:
kernel/factory.h:
kernel/object.h:
include/abi/objects.h:
kernel/fault.h:
kernel/irq.h:
kernel/kip.h:
kernel/kmem.h:
kernel/memory.h:
kernel/sched.h:
kernel/task.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_trap.h:

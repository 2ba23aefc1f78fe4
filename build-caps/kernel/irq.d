build-caps/kernel/irq.o: kernel/irq.c kernel/irq.h kernel/object.h \
 include/abi/objects.h include/abi/types.h include/abi/errors.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_apic.h kernel/ipc.h \
 kernel/thread.h include/abi/exception.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h
kernel/irq.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
include/abi/errors.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_apic.h:
kernel/ipc.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

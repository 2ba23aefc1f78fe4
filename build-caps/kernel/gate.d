build-caps/kernel/gate.o: kernel/gate.c kernel/gate.h kernel/object.h \
 include/abi/objects.h include/abi/types.h kernel/thread.h \
 include/abi/exception.h include/abi/ipc.h include/abi/utcb.h \
 include/abi/ipc.h kernel/arch/x86_64/arch_cpu.h \
 kernel/arch/x86_64/arch_trap.h
kernel/gate.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
kernel/thread.h:
include/abi/exception.h:
include/abi/ipc.h:
include/abi/utcb.h:
include/abi/ipc.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

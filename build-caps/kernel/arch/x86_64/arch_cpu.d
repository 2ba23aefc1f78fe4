build-caps/kernel/arch/x86_64/arch_cpu.o: kernel/arch/x86_64/arch_cpu.c \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_trap.h
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_trap.h:

build-caps/kernel/arch/x86_64/arch_apic.o: kernel/arch/x86_64/arch_apic.c \
 kernel/arch/x86_64/arch_apic.h kernel/arch/x86_64/arch_cpu.h
kernel/arch/x86_64/arch_apic.h:
kernel/arch/x86_64/arch_cpu.h:

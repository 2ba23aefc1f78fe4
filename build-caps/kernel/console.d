build-caps/kernel/console.o: kernel/console.c kernel/console.h \
 kernel/arch/x86_64/arch_cpu.h kernel/arch/x86_64/arch_serial.h
kernel/console.h:
kernel/arch/x86_64/arch_cpu.h:
kernel/arch/x86_64/arch_serial.h:

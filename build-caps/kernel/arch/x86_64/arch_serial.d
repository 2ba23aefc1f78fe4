build-caps/kernel/arch/x86_64/arch_serial.o: \
 kernel/arch/x86_64/arch_serial.c kernel/arch/x86_64/arch_serial.h \
 kernel/arch/x86_64/arch_cpu.h
kernel/arch/x86_64/arch_serial.h:
kernel/arch/x86_64/arch_cpu.h:

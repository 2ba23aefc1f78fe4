build-caps/kernel/arch/x86_64/arch_paging.o: \
 kernel/arch/x86_64/arch_paging.c kernel/arch/x86_64/arch_paging.h \
 kernel/arch/x86_64/arch_cpu.h
kernel/arch/x86_64/arch_paging.h:
kernel/arch/x86_64/arch_cpu.h:

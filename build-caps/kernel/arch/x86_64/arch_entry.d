build-caps/kernel/arch/x86_64/arch_entry.o: \
 kernel/arch/x86_64/arch_entry.S

build-caps/kernel/arch/x86_64/boot.o: kernel/arch/x86_64/boot.S

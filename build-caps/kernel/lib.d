build-caps/kernel/lib.o: kernel/lib.c

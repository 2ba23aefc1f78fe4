build-caps/kernel/kmem.o: kernel/kmem.c kernel/kmem.h
kernel/kmem.h:

build-caps/kernel/factory.o: kernel/factory.c kernel/factory.h \
 kernel/object.h include/abi/objects.h include/abi/types.h kernel/kmem.h
kernel/factory.h:
kernel/object.h:
include/abi/objects.h:
include/abi/types.h:
kernel/kmem.h:

build-caps/lib/spawn.o: lib/spawn.c lib/include/drops/spawn.h \
 lib/include/drops/sys.h include/abi/errors.h include/abi/exception.h \
 include/abi/types.h include/abi/ipc.h include/abi/kip.h \
 include/abi/objects.h include/abi/syscalls.h include/abi/utcb.h \
 include/abi/ipc.h lib/include/drops/ipc.h
lib/include/drops/spawn.h:
lib/include/drops/sys.h:
include/abi/errors.h:
include/abi/exception.h:
include/abi/types.h:
include/abi/ipc.h:
include/abi/kip.h:
include/abi/objects.h:
include/abi/syscalls.h:
include/abi/utcb.h:
include/abi/ipc.h:
lib/include/drops/ipc.h:

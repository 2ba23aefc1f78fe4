build-caps/lib/console.o: lib/console.c lib/include/drops/console.h \
 lib/include/drops/string.h lib/include/drops/sys.h include/abi/errors.h \
 include/abi/exception.h include/abi/types.h include/abi/ipc.h \
 include/abi/kip.h include/abi/objects.h include/abi/syscalls.h \
 include/abi/utcb.h include/abi/ipc.h
lib/include/drops/console.h:
lib/include/drops/string.h:
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

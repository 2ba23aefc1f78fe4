build-caps/user-obj/tests/system/ipc.o: tests/system/ipc.c \
 lib/include/drops/ipc.h lib/include/drops/sys.h include/abi/errors.h \
 include/abi/exception.h include/abi/types.h include/abi/ipc.h \
 include/abi/kip.h include/abi/objects.h include/abi/syscalls.h \
 include/abi/utcb.h include/abi/ipc.h lib/include/drops/spawn.h \
 lib/include/drops/tap.h lib/include/drops/console.h
lib/include/drops/ipc.h:
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
lib/include/drops/spawn.h:
lib/include/drops/tap.h:
lib/include/drops/console.h:

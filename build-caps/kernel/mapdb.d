build-caps/kernel/mapdb.o: kernel/mapdb.c kernel/mapdb.h
kernel/mapdb.h:

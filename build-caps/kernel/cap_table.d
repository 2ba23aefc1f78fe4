build-caps/kernel/cap_table.o: kernel/cap_table.c kernel/cap_table.h
kernel/cap_table.h:

build-caps/lib/string.o: lib/string.c lib/include/drops/string.h
lib/include/drops/string.h:

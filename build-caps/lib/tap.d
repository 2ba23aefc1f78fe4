build-caps/lib/tap.o: lib/tap.c lib/include/drops/tap.h \
 lib/include/drops/console.h
lib/include/drops/tap.h:
lib/include/drops/console.h:

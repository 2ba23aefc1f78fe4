build-caps/lib/crt0.o: lib/crt0.S

$(eval $(call musl_program,primes,apps/primes/main.c))

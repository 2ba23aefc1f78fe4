# A component (musl), not a native bench program: no main.c here.
$(eval $(call musl_program,bench_boot_getpid,bench/boot/getpid.c))

#!/bin/sh
exec tools/qemu-tap.sh tests/system/musl_hello.scenario 120

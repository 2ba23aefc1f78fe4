#!/bin/sh
exec tools/qemu-tap.sh tests/system/memory.scenario 120

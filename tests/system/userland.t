#!/bin/sh
exec tools/qemu-tap.sh tests/system/userland.scenario 120

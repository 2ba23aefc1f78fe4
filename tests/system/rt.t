#!/bin/sh
exec tools/qemu-tap.sh tests/system/rt.scenario 120

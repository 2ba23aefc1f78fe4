#!/bin/sh
exec tools/qemu-tap.sh tests/system/ipc.scenario 60

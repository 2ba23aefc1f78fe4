#!/bin/sh
exec tools/qemu-tap.sh tests/system/ipc_watch.scenario 120

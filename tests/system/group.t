#!/bin/sh
exec tools/qemu-tap.sh tests/system/group.scenario 120

#!/bin/sh
exec tools/qemu-tap.sh tests/system/revoke.scenario 120

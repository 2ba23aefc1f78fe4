#!/bin/sh
exec tools/qemu-tap.sh tests/system/caps.scenario 120

#!/bin/sh
exec tools/qemu-tap.sh tests/system/hostile.scenario 180

#!/bin/sh
exec tools/qemu-tap.sh tests/system/exceptions.scenario 60

#!/bin/sh
exec tools/qemu-tap.sh tests/system/loader.scenario 300

#!/bin/sh
exec tools/qemu-tap.sh tests/system/pager.scenario 60

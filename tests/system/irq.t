#!/bin/sh
exec tools/qemu-tap.sh tests/system/irq.scenario 60

#!/bin/sh
exec tools/qemu-tap.sh tests/system/irqoff.scenario 120

#!/bin/sh
exec tools/qemu-tap.sh tests/system/dsi_fuzz.scenario 300

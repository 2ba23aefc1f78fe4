#!/bin/sh
exec tools/qemu-tap.sh tests/system/dsi_components.scenario 300

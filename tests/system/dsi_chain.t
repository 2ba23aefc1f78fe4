#!/bin/sh
exec tools/qemu-tap.sh tests/system/dsi_chain.scenario 300

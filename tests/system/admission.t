#!/bin/sh
exec tools/qemu-tap.sh tests/system/admission.scenario 300

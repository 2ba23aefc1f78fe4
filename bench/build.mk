# Benchmarks: `make bench` runs all, `make bench-<name>` one. Each prints
# BENCH lines and writes bench/results/<name>.csv.
BENCHES := $(patsubst bench/%/run.sh,%,$(sort $(wildcard bench/*/run.sh)))

.PHONY: bench $(BENCHES:%=bench-%)
bench: $(BENCHES:%=bench-%)

$(BENCHES:%=bench-%): bench-%: deps-run all
	@mkdir -p bench/results
	@BUILD='$(BUILD)' bench/$*/run.sh

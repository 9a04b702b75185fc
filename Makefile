# The two commands of README.md. Each installs what is missing first.
.PHONY: run test bench

run:
	scripts/run.sh

test:
	scripts/test.sh

# Measures the release: bundle sizes, field feedback, start-up, server load; writes BENCHMARKS.md.
bench:
	scripts/bench.sh

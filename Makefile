# The two commands of README.md. Each installs what is missing first.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh

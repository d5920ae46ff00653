# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test lint benchmark fault-campaign

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	pre-commit run --all-files

benchmark:
	bash scripts/benchmark.sh

fault-campaign:
	bash scripts/fault_campaign.sh

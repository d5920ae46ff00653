# The two commands of the README: `make demo` and `make test`. Each sets itself up from nothing
# the first time (scripts/bootstrap.py: Odoo 18 into .venv, PostgreSQL, Chromium).
.PHONY: demo test lint benchmark upgrade-check i18n clean-env fault-campaign

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

benchmark:
	bash scripts/benchmark.sh

# A database of the previous version, upgraded to this one, keeps its calls (also in `make test`).
upgrade-check:
	bash scripts/upgrade_check.sh

# Exports the translatable terms (.pot) and brings vi.po up to date with them.
i18n:
	bash scripts/i18n_update.sh

# Removes the project's environment (.venv: Odoo's source and every Python package); the next
# `make demo` or `make test` builds it again.
clean-env:
	rm -rf .venv

# The sync's fault campaign (README: The sync's guarantees).
fault-campaign:
	bash scripts/fault_campaign.sh

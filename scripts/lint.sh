#!/usr/bin/env bash
# `make lint`: the pre-commit hooks (all `repo: local`) on every file; pre-commit and prettier are
# installed first when missing.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_DIR"
bootstrap --lint
"$PYTHON" -m pre_commit run --all-files

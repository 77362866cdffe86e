# The two entry points of the README. Both set up what is missing first (scripts/setup.sh is idempotent).
.PHONY: run test lint setup

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/vpostcode serve --host 127.0.0.1 --port 8000

test: setup lint
	.venv/bin/python -m pytest -n 2 --dist loadfile

lint:
	.venv/bin/ruff check vpostcode scripts tests api
	.venv/bin/mypy

#!/usr/bin/env bash
# The whole test suite. With BOT_TEST_DATABASE_URL / BOT_TEST_REDIS_URL set it runs on PostgreSQL / Redis.
source "$(dirname "$0")/venv.sh"
.venv/bin/ruff check .
# The layers (pyproject.toml [tool.importlinter]): a broken one fails here, before the tests.
.venv/bin/lint-imports --no-logo
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The one-command demo: server + simulator + fake WeChat API on SQLite and the in-process store.
source "$(dirname "$0")/venv.sh"
exec .venv/bin/python -m bot demo "$@"

"""The release number `python -m bot --version` prints; CHANGELOG.md says what each one brought."""

VERSION = "0.6.0"

"""Tools for a local run only: the one-process demo and the /simulator chat page."""

"""How a console action that changes something ends: done (what it wrote is committed and staff are
told what happened) or refused (nothing it wrote is kept and staff are told why), and either way
back to a page. The audit row, when there is one, is written before `done` commits it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, flash, redirect, url_for

from bot.console import db


def done(message: str, endpoint: str, **values: Any) -> Response:
    """Commit the request's writes, say what was done, and go to `endpoint`."""
    db().commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def refused(why: str, endpoint: str, *, keep: Callable[[], object] | None = None, **values: Any) -> Response:
    """Drop the request's writes, say why nothing was done, and go to `endpoint`. `keep` writes what
    stays even so (a refusal's own audit row), committed after the rest is dropped."""
    db().rollback()
    if keep is not None:
        keep()
        db().commit()
    flash(why, "error")
    return redirect(url_for(endpoint, **values))

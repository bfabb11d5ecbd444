"""Committing work that a unique index may refuse when two requests race (views, CLI and jobs only)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict

from .extensions import db

T = TypeVar("T")
log = logging.getLogger(__name__)


def commit_racing(work: Callable[[], T], attempts: int = 2) -> T:
    """Run ``work`` and commit. When a unique index refuses it because another request stored the same
    row first (the same candidate, delivery or application), roll back and run it again: the second
    run sees what the winner stored and answers as a repeat would. Refused every time: 409."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except IntegrityError as exc:
            db.session.rollback()
            log.info("attempt %s lost a race to a unique index: %s", attempt, type(exc.orig).__name__)
    raise Conflict("The same data was being stored by another request at the same moment; send it again.")

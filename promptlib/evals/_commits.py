"""Committing results in groups without losing more than the work in flight.

Each worker hands its finished result to :class:`GroupCommit` and waits until it is
committed before it takes new work, so a killed process loses at most one result per
worker: the ones in flight. Results that finish in the same turn of the event loop are
committed in one transaction, which costs one commit instead of one each when replies
come fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from promptlib.evals._store import ResultRow, Store

__all__ = ["GroupCommit"]


class GroupCommit:
    """Commits the results handed to :meth:`add` once per turn of the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[ResultRow, Callable[[str], str] | None]] = []
        self._waiting: list[asyncio.Future[None]] = []

    async def add(self, row: ResultRow, redact: Callable[[str], str] | None = None) -> None:
        """Store ``row``; returns once it is committed (raises if the commit failed)."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._commit)
        self._pending.append((row, redact))
        done = loop.create_future()
        self._waiting.append(done)
        await done

    def _commit(self) -> None:
        rows, waiting = self._pending, self._waiting
        self._pending, self._waiting = [], []
        try:
            self.store.add_many(rows)
        except BaseException as exc:  # the workers raise it: the run stops as before
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future in waiting:
            if not future.done():
                future.set_result(None)

"""Telegram subscribers: chats that asked for alerts (/start), their topics and mutes.

A chat with no chosen topics gets every topic. Deactivated chats (/stop, or the bot was blocked)
keep their row so /start restores their choices. A chat also keeps what it reads in: language
(chosen with /lang, else followed from Telegram), time zone and whether alerts show details; a
chat that sets these before /start gets an inactive row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.store.db import Database, Row, Tx

_COLUMNS = "chat_id, kind, title, active, topics, muted_until, lang, lang_chosen, tz, details"
# the details column: 0 never chosen (the bot's admins see details, others not), 1 on, 2 off
_DETAILS_STORED = {True: 1, False: 2}
_DETAILS_READ = {v: k for k, v in _DETAILS_STORED.items()}


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    kind: str
    title: str
    active: bool
    topics: tuple[str, ...]
    muted_until: float | None
    lang: str = "en"
    lang_chosen: bool = False  # set with /lang: no longer follows the Telegram language
    tz: str = ""  # IANA time zone of the times in its alerts; "" = UTC
    details: bool | None = None  # alerts show the score and the matched words; None: not chosen

    def wants(self, topics: Sequence[str], now: float) -> bool:
        """Whether an alert on ``topics`` goes to this chat at ``now``."""
        if not self.active or (self.muted_until is not None and self.muted_until > now):
            return False
        return not self.topics or any(t in self.topics for t in topics)


def _from_row(row: Row) -> Subscriber:
    return Subscriber(
        chat_id=int(row[0]),
        kind=str(row[1]),
        title=str(row[2]),
        active=bool(row[3]),
        topics=tuple(json.loads(row[4])),
        muted_until=float(row[5]) if row[5] is not None else None,
        lang=str(row[6]),
        lang_chosen=bool(row[7]),
        tz=str(row[8]),
        details=_DETAILS_READ.get(int(row[9])),
    )


def subscribe(db: Database, chat_id: int, kind: str, title: str, now: float) -> Subscriber:
    """Add or re-activate a chat (its topic choices are kept)."""
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO telegram_chats (chat_id, kind, title, active, topics, created_at,"
            " updated_at) VALUES (?, ?, ?, 1, '[]', ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
            " active = 1, kind = excluded.kind, title = excluded.title,"
            " updated_at = excluded.updated_at, last_error = NULL",
            (chat_id, kind, title, now, now),
        )
        found = _get(tx, chat_id)
    assert found is not None
    return found


def _get(tx: Tx, chat_id: int) -> Subscriber | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM telegram_chats WHERE chat_id = ?", (chat_id,))
    return None if row is None else _from_row(row)


def get(db: Database, chat_id: int) -> Subscriber | None:
    with db.transaction() as tx:
        return _get(tx, chat_id)


def deactivate(db: Database, chat_id: int, reason: str, now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE telegram_chats SET active = 0, last_error = ?, updated_at = ?"
            " WHERE chat_id = ?",
            (reason, now, chat_id),
        )


def set_topics(db: Database, chat_id: int, topics: Sequence[str], now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE telegram_chats SET topics = ?, updated_at = ? WHERE chat_id = ?",
            (json.dumps(sorted(set(topics))), now, chat_id),
        )


def set_muted_until(db: Database, chat_id: int, until: float | None, now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE telegram_chats SET muted_until = ?, updated_at = ? WHERE chat_id = ?",
            (until, now, chat_id),
        )


def set_reading(
    db: Database,
    chat_id: int,
    kind: str,
    now: float,
    *,
    lang: str | None = None,
    lang_chosen: bool | None = None,
    tz: str | None = None,
    details: bool | None = None,
) -> Subscriber:
    """Change what the chat reads in (the values given), keeping a row for it: a chat that
    has never sent /start gets an inactive one."""
    changes = {
        "lang": lang,
        "lang_chosen": None if lang_chosen is None else int(lang_chosen),
        "tz": tz,
        "details": None if details is None else _DETAILS_STORED[details],
    }
    given = {k: v for k, v in changes.items() if v is not None}
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO telegram_chats (chat_id, kind, active, created_at, updated_at)"
            " VALUES (?, ?, 0, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
            (chat_id, kind, now, now),
        )
        if given:
            sets = ", ".join(f"{k} = ?" for k in given)  # the keys are ours, not input
            tx.execute(
                f"UPDATE telegram_chats SET {sets}, updated_at = ? WHERE chat_id = ?",
                (*given.values(), now, chat_id),
            )
        found = _get(tx, chat_id)
    assert found is not None
    return found


def active_in_tx(tx: Tx) -> list[Subscriber]:
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM telegram_chats WHERE active = 1 ORDER BY chat_id")
    return [_from_row(r) for r in rows]


def count_active(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar("SELECT COUNT(*) FROM telegram_chats WHERE active = 1") or 0)


def chat_names(db: Database, chat_ids: Sequence[int]) -> dict[int, str]:
    """chat id -> its title (a group's or channel's name; "" for most private chats)."""
    ids = sorted(set(chat_ids))
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT chat_id, kind, title FROM telegram_chats WHERE chat_id IN ({marks})", ids
        )
    return {int(r[0]): str(r[2]) or str(r[1]) for r in rows}

"""Labels: people's votes on items, and the near misses they review (docs/labels.md).

A vote is one voter's verdict on one item ("tg:123", "web:alice"); a new vote by the same
voter on the same item replaces the old. Admins' votes are labels, the others' signals.
Near misses are items that did not alert but came close: the ``near_misses`` rows (below a
topic's threshold, its entities there) and the relevance model's decisions (a possible match
sent, a rule hit held back: ``model_decisions``), listed together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from watcher.store.db import Database, Row, Tx

VERDICTS = ("relevant", "not_relevant", "wrong_topic", "should_alert", "right_to_skip")
TOPIC_VERDICTS = ("wrong_topic", "should_alert")  # these name the right topic
ROLES = ("admin", "user")
CHANNELS = ("telegram", "web")
MAX_VOTER = 200
_TOPIC_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")  # as keywords.yaml's topic ids

BELOW_THRESHOLD = "below_threshold"
MODEL_POSSIBLE = "model_possible"
MODEL_HELD = "model_held"

_VOTE_COLUMNS = (
    "id, voter, role, channel, item_id, alert_id, verdict, topic, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class Vote:
    id: int
    voter: str  # "tg:<user id>", "web:<login>"
    role: str  # "admin" (a label) or "user" (a signal)
    channel: str  # "telegram" or "web"
    item_id: int
    alert_id: int | None
    verdict: str  # one of VERDICTS
    topic: str | None  # the right topic, for wrong_topic and should_alert
    created_at: float
    updated_at: float

    @property
    def is_label(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Tally:
    """The votes on one item: ``relevant`` counts relevant and should_alert, ``not_relevant``
    counts not_relevant and right_to_skip; ``labels`` is how many of them are admins'."""

    relevant: int = 0
    not_relevant: int = 0
    wrong_topic: int = 0
    labels: int = 0

    @property
    def total(self) -> int:
        return self.relevant + self.not_relevant + self.wrong_topic


@dataclass(frozen=True, slots=True)
class NearMiss:
    """An item that did not alert (or alerted only as the model's possible match)."""

    item_id: int
    title: str
    url: str
    source_id: str
    topics: tuple[str, ...]  # the candidate topics
    scores: dict[str, float]  # the rules' score per candidate topic
    reason: str  # BELOW_THRESHOLD, MODEL_POSSIBLE or MODEL_HELD
    created_at: float
    model_note: str = ""  # the model's reasons, for its decisions
    thresholds: dict[str, float] = field(default_factory=dict)  # BELOW_THRESHOLD only
    model_scores: dict[str, float] = field(default_factory=dict)  # the model's probabilities
    alert_id: int | None = None  # a possible match's alert


def _vote(row: Row) -> Vote:
    return Vote(
        id=int(row[0]),
        voter=row[1],
        role=row[2],
        channel=row[3],
        item_id=int(row[4]),
        alert_id=int(row[5]) if row[5] is not None else None,
        verdict=row[6],
        topic=row[7],
        created_at=float(row[8]),
        updated_at=float(row[9]),
    )


def check_vote(*, voter: str, role: str, channel: str, verdict: str, topic: str | None) -> None:
    """``ValueError`` saying what is wrong with a vote before it is stored."""
    if not voter or len(voter) > MAX_VOTER or not voter.isprintable():
        raise ValueError(f"voter must be 1 to {MAX_VOTER} printable characters")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)} (got {channel!r})")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)} (got {verdict!r})")
    if verdict in TOPIC_VERDICTS and not topic:
        raise ValueError(f"a {verdict} vote names the right topic")
    if topic is not None and not _TOPIC_ID.fullmatch(topic):
        raise ValueError(f"topic must be a topic id of keywords.yaml (got {topic[:80]!r})")


def record_vote(
    db: Database,
    *,
    voter: str,
    role: str,
    channel: str,
    item_id: int,
    verdict: str,
    topic: str | None = None,
    alert_id: int | None = None,
    now: float,
) -> Vote:
    """Store a vote, replacing the voter's earlier vote on the item.

    ``ValueError`` for an invalid vote or an item that is not stored (the caller says so
    politely)."""
    check_vote(voter=voter, role=role, channel=channel, verdict=verdict, topic=topic)
    with db.transaction() as tx:
        if tx.scalar("SELECT 1 FROM items WHERE id = ?", (item_id,)) is None:
            raise ValueError(f"item {item_id} is not stored")
        if (
            alert_id is not None
            and tx.scalar("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)) is None
        ):
            alert_id = None
        row = tx.fetchone(
            "INSERT INTO votes (voter, role, channel, item_id, alert_id, verdict, topic,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (voter, item_id) DO UPDATE SET role = excluded.role,"
            " channel = excluded.channel, alert_id = excluded.alert_id,"
            " verdict = excluded.verdict, topic = excluded.topic,"
            " updated_at = excluded.updated_at"
            f" RETURNING {_VOTE_COLUMNS}",
            (voter, role, channel, item_id, alert_id, verdict, topic, now, now),
        )
    assert row is not None
    return _vote(row)


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    unique = sorted(set(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def votes_on(db: Database, item_ids: Sequence[int]) -> dict[int, list[Vote]]:
    """Each item's votes, oldest first (items without votes are absent)."""
    out: dict[int, list[Vote]] = {}
    with db.transaction() as tx:
        for chunk in _chunks(item_ids):
            marks = ", ".join("?" for _ in chunk)
            rows = tx.fetchall(
                f"SELECT {_VOTE_COLUMNS} FROM votes WHERE item_id IN ({marks})"
                " ORDER BY created_at, id",
                chunk,
            )
            for r in rows:
                vote = _vote(r)
                out.setdefault(vote.item_id, []).append(vote)
    return out


def tally(votes: Iterable[Vote]) -> Tally:
    relevant = not_relevant = wrong = labels = 0
    for v in votes:
        relevant += v.verdict in ("relevant", "should_alert")
        not_relevant += v.verdict in ("not_relevant", "right_to_skip")
        wrong += v.verdict == "wrong_topic"
        labels += v.is_label
    return Tally(relevant, not_relevant, wrong, labels)


def item_tallies(db: Database, item_ids: Sequence[int]) -> dict[int, Tally]:
    """Each voted item's tally (items without votes are absent)."""
    return {item: tally(votes) for item, votes in votes_on(db, item_ids).items()}


def all_votes(db: Database, *, since: float | None = None) -> list[Vote]:
    """Every vote (changed after ``since``, when given), oldest first."""
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {_VOTE_COLUMNS} FROM votes WHERE updated_at > ? ORDER BY updated_at, id",
            (since if since is not None else -1.0,),
        )
    return [_vote(r) for r in rows]


def record_near_miss(
    tx: Tx,
    *,
    item_id: int,
    scores: Mapping[str, float],
    thresholds: Mapping[str, float],
    now: float,
) -> None:
    """In the transaction that stores the item: it came close for the topics of ``scores``."""
    tx.execute(
        "INSERT INTO near_misses (item_id, topics, scores, thresholds, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            item_id,
            json.dumps(list(scores)),
            json.dumps({k: round(v, 3) for k, v in scores.items()}, sort_keys=True),
            json.dumps(dict(thresholds), sort_keys=True),
            now,
        ),
    )


# Both kinds of near miss as one relation: (item, reason, topics, scores JSON, thresholds
# JSON, model scores JSON, note, alert, created_at).
_NEAR_MISSES = (
    "SELECT item_id, 'below_threshold' AS reason, topics, scores, thresholds,"
    " '{}' AS model_scores, '' AS note, NULL AS alert_id, created_at FROM near_misses"
    " UNION ALL"
    " SELECT item_id, 'model_' || decision, topics, '{}', '{}', model_scores, note, alert_id,"
    " created_at FROM model_decisions"
)


def near_misses(
    db: Database,
    *,
    limit: int = 50,
    include_labelled: bool = False,
    after: tuple[float, int] | None = None,
) -> list[NearMiss]:
    """The newest near misses first, one per item and time (an item the model held back for
    one topic and offered as possible for another in one poll is one entry); without
    ``include_labelled``, only items no admin has voted on yet (what is left to review).
    ``after`` (a near miss's ``created_at`` and ``item_id``) pages on from that one even when
    those before it were labelled meanwhile."""
    where: list[str] = []
    params: list[object] = []
    if not include_labelled:
        where.append(
            "NOT EXISTS (SELECT 1 FROM votes v WHERE v.item_id = n.item_id AND v.role = 'admin')"
        )
    if after is not None:
        where.append("(n.created_at < ? OR (n.created_at = ? AND n.item_id < ?))")
        params += [after[0], after[0], after[1]]
    rows_per_entry = 3  # rows of one item at one time, at most (a row per kind)
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT n.item_id, i.title, i.url, i.source_id, n.topics, n.scores, n.reason,"
            " n.created_at, n.note, n.thresholds, n.model_scores, n.alert_id, i.scores"
            f" FROM ({_NEAR_MISSES}) n JOIN items i ON i.id = n.item_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY n.created_at DESC, n.item_id DESC, n.reason LIMIT ?",
            [*params, max(0, limit) * rows_per_entry],
        )
    entries: list[NearMiss] = []
    for r in rows:
        miss = _near_miss(r)
        last = entries[-1] if entries else None
        if last is not None and (last.item_id, last.created_at) == (miss.item_id, miss.created_at):
            entries[-1] = _joined(last, miss)
        elif len(entries) < limit:
            entries.append(miss)
        else:
            break
    return entries


def _joined(first: NearMiss, other: NearMiss) -> NearMiss:
    """One entry for two near misses of an item at one time (the model held one topic back
    and offered another as a possible match): "possible" when either is, since that one was
    sent; both's topics, scores and notes."""
    kept, rest = (other, first) if other.reason == MODEL_POSSIBLE else (first, other)
    return replace(
        kept,
        topics=tuple(dict.fromkeys(kept.topics + rest.topics)),
        scores={**rest.scores, **kept.scores},
        thresholds={**rest.thresholds, **kept.thresholds},
        model_scores={**rest.model_scores, **kept.model_scores},
        model_note="; ".join(dict.fromkeys(n for n in (kept.model_note, rest.model_note) if n)),
        alert_id=kept.alert_id if kept.alert_id is not None else rest.alert_id,
    )


def _near_miss(r: Row) -> NearMiss:
    topics = tuple(str(t) for t in json.loads(r[4]))
    scores = {str(k): float(v) for k, v in json.loads(r[5]).items()}
    if not scores:  # a model decision: the rules' scores as the item recorded them
        item_scores = json.loads(r[12] or "{}")
        scores = {t: float(item_scores.get(t, 0.0)) for t in topics}
    return NearMiss(
        item_id=int(r[0]),
        title=r[1],
        url=r[2],
        source_id=r[3],
        topics=topics,
        scores=scores,
        reason=r[6],
        created_at=float(r[7]),
        model_note=r[8] or "",
        thresholds={str(k): float(v) for k, v in json.loads(r[9]).items()},
        model_scores={str(k): float(v) for k, v in json.loads(r[10]).items()},
        alert_id=int(r[11]) if r[11] is not None else None,
    )


@dataclass(frozen=True, slots=True)
class VotedItem:
    """A voted item with what a corpus line needs (``watcher labels export``)."""

    item_id: int
    source_id: str
    url: str
    title: str
    summary: str
    language: str
    published_at: float | None
    alert_topics: tuple[str, ...]  # its alert's topics: what a "relevant" vote confirms
    story_id: int | None
    votes: tuple[Vote, ...]


def voted_items(db: Database) -> list[VotedItem]:
    """Every item with at least one vote, in item order."""
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT i.id, i.source_id, i.url, i.title, i.summary, i.language, i.published_at,"
            " a.topics, a.story_id FROM items i LEFT JOIN alerts a ON a.id = ("
            " SELECT MIN(a2.id) FROM alerts a2 WHERE a2.item_id = i.id)"
            " WHERE EXISTS (SELECT 1 FROM votes v WHERE v.item_id = i.id) ORDER BY i.id"
        )
    votes = votes_on(db, [int(r[0]) for r in rows])
    return [
        VotedItem(
            item_id=int(r[0]),
            source_id=r[1],
            url=r[2],
            title=r[3],
            summary=r[4],
            language=r[5],
            published_at=float(r[6]) if r[6] is not None else None,
            alert_topics=tuple(json.loads(r[7])) if r[7] else (),
            story_id=int(r[8]) if r[8] is not None else None,
            votes=tuple(votes.get(int(r[0]), ())),
        )
        for r in rows
    ]

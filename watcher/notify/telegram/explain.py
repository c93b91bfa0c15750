"""/explain URL|ID|TEXT: why an item alerted or not, told about the item the store holds.

``/explain 12`` (or ``alert 12``) is alert 12's item, ``/explain item 345`` item 345 (as
/review shows), ``/explain URL`` the item stored at that canonical URL: the explanation is of
its stored text (and the article text cached for it), with what happened then (its scores,
its alert, the model's note, people's votes) and what the rules and the model in force say
now. A URL the store does not hold is fetched (behind the address guard); any other text is
explained as it is. The headings are in the admin's language; the rules' own explanation, made
for tuning ``keywords.yaml``, stays in its terms.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from html import escape

from watcher.display import one_line
from watcher.models import Item
from watcher.notify.i18n import DEFAULT, say
from watcher.parse.urls import canonical_url
from watcher.relevance.decide import Relevance
from watcher.relevance.explain import render_opinion
from watcher.rules.explain import render_html, render_text
from watcher.rules.score import Rules
from watcher.store import articles
from watcher.store.alerts import alert_for_url, get_alerts
from watcher.store.db import Database
from watcher.store.items import StoredItem, stored_item
from watcher.store.labels import item_tallies

MAX_LENGTH = 4096
_URL = re.compile(r"https?://\S+")
_ALERT = re.compile(r"(?:alert\s*)?#?(\d{1,18})", re.IGNORECASE)
_ITEM = re.compile(r"item\s*#?(\d{1,18})", re.IGNORECASE)

# fetches an unstored URL's article: (text, "" or why there is none)
FetchArticle = Callable[[str], Awaitable[tuple[str, str]]]


def _e(text: str) -> str:
    return escape(text, quote=False)


def find(db: Database, arg: str) -> StoredItem | None:
    """The stored item ``arg`` names (an alert id, ``item N`` or a URL), if any."""
    if m := _ITEM.fullmatch(arg):
        return stored_item(db, item_id=int(m.group(1)))
    if m := _ALERT.fullmatch(arg):
        return stored_item(db, alert_id=int(m.group(1)))
    if _URL.fullmatch(arg):  # stored as its canonical form (no utm_ tags, fragment ...)
        return stored_item(db, url=canonical_url(arg) or arg)
    return None


def _cached_text(db: Database, url: str) -> str:
    if not url:
        return ""
    with db.transaction() as tx:
        article = articles.get_article(tx, url)
    return article.text if article is not None and article.status == "ok" else ""


def facts(db: Database, stored: StoredItem, lang: str = DEFAULT) -> list[str]:
    """What happened to the item then, as HTML lines."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stored.first_seen_at))
    head = f"<b>{_e(say(lang, 'explain_stored', id=stored.id))}</b>"
    lines = [f"{head} · {_e(stored.source_id)} · {_e(say(lang, 'explain_first_seen', when=when))}"]
    if stored.alert_id is not None:
        topics = ", ".join(stored.alert_topics)
        lines.append(_e(say(lang, "explain_alerted", id=stored.alert_id, topics=topics)))
    else:
        lines.append(_e(say(lang, "explain_not_alerted")))
    scored = {t: s for t, s in stored.scores.items() if s}
    if scored:
        scores = ", ".join(f"{t} {s:g}" for t, s in scored.items())
        lines.append(_e(say(lang, "explain_scored", scores=scores)))
    then = _e(say(lang, "explain_model_then"))
    lines.extend(f"{then} <i>{_e(one_line(n, 400))}</i>" for n in stored.model_notes[:2])
    tally = item_tallies(db, [stored.id]).get(stored.id)
    if tally is not None:
        counts = {k: getattr(tally, k) for k in ("relevant", "not_relevant", "wrong_topic")}
        lines.append(_e(say(lang, "explain_votes", labels=tally.labels, **counts)))
    return lines


def render(item: Item, scorer: Rules | Relevance, head: list[str], lang: str = DEFAULT) -> str:
    """``head``, then the explanation of ``item`` by the rules (and model) in force, in at
    most one Telegram message."""
    result = scorer.score(item)
    opinion = ""
    if isinstance(scorer, Relevance):
        opinion = f"<b>{_e(say(lang, 'explain_model_now'))}</b>\n"
        opinion += _e(render_opinion(scorer, item, result).strip())
    top = "\n".join([*head, "", f"<b>{_e(say(lang, 'explain_rules_now'))}</b>"]) if head else ""
    room = MAX_LENGTH - len(top) - len(opinion) - 4
    rules = render_html(result, item, all_topics=True)
    if len(rules) > room:  # only the alerting topics, else the plain text cut
        rules = render_html(result, item, all_topics=False)
    if len(rules) > room:
        rules = _e(render_text(result, item, all_topics=False)[: max(0, room - 200)])
    text = "\n".join(p for p in (top, rules) if p)
    if opinion and len(text) + len(opinion) + 2 <= MAX_LENGTH:
        text += "\n\n" + opinion
    return text[:MAX_LENGTH]


def alert_copy(db: Database, arg: str) -> tuple[int, Item] | None:
    """An alert ``arg`` names whose item is gone: the alert's own copy of its text."""
    alert_id: int | None = None
    if m := _ALERT.fullmatch(arg):
        alert_id = int(m.group(1))
    elif _URL.fullmatch(arg):
        alert_id = alert_for_url(db, canonical_url(arg) or arg)
    alert = get_alerts(db, [alert_id]).get(alert_id) if alert_id is not None else None
    if alert is None:
        return None
    item = Item(
        source_id=alert.source_id,
        guid=str(alert.id),
        url=alert.url,
        title=alert.title,
        summary=alert.summary,
        language=alert.language,
    )
    return alert.id, item


def archive_line(db: Database, url: str) -> str:
    from watcher.archive.view import capture_states

    state = capture_states(db, [url]).get(url)
    return _e(state.line() if state is not None else "archive: no capture of this URL")


async def explain(
    db: Database,
    scorer: Rules | Relevance,
    arg: str,
    fetch: FetchArticle | None,
    lang: str = DEFAULT,
) -> str:
    """The reply to ``/explain ARG`` (Telegram HTML), its headings in ``lang``."""
    arg = arg.strip()
    text, url = await _explained(db, scorer, arg, fetch, lang)
    if url:
        line = await asyncio.to_thread(archive_line, db, url)
        text = (text + "\n\n" + line)[:MAX_LENGTH]
    return text


async def _explained(
    db: Database, scorer: Rules | Relevance, arg: str, fetch: FetchArticle | None, lang: str
) -> tuple[str, str]:
    """(the explanation, the URL whose archived copy to mention or "")."""
    stored = await asyncio.to_thread(find, db, arg)
    if stored is not None:
        content = await asyncio.to_thread(_cached_text, db, stored.url)
        head = await asyncio.to_thread(facts, db, stored, lang)
        item = stored.as_item(content)
        return await asyncio.to_thread(render, item, scorer, head, lang), stored.url
    copy = await asyncio.to_thread(alert_copy, db, arg)
    if copy is not None:
        alert_id, item = copy
        title = _e(say(lang, "explain_alert_copy", id=alert_id))
        head = [f"<b>{title}</b> {_e(say(lang, 'explain_alert_copy_why'))}"]
        return await asyncio.to_thread(render, item, scorer, head, lang), item.url
    if _URL.fullmatch(arg):
        return await _fetched(scorer, arg, fetch, lang), arg
    if _ALERT.fullmatch(arg) or _ITEM.fullmatch(arg):
        return _e(say(lang, "explain_none")), ""
    title, _, rest = arg.partition("\n")
    item = Item(source_id="explain", guid="explain", url="", title=title, summary=rest)
    return await asyncio.to_thread(render, item, scorer, [], lang), ""


async def _fetched(
    scorer: Rules | Relevance, url: str, fetch: FetchArticle | None, lang: str
) -> str:
    """A URL the store does not hold: its article fetched now, explained."""
    if fetch is None:
        return _e(say(lang, "explain_no_fetch"))
    text, why = await fetch(url)
    if not text:
        return _e(say(lang, "explain_fetch_failed", why=why))
    item = Item(source_id="explain", guid="explain", url=url, title="", content=text)
    head = [
        f"<b>{_e(say(lang, 'explain_not_stored'))}</b>: {_e(say(lang, 'explain_fetched', url=url))}"
    ]
    return await asyncio.to_thread(render, item, scorer, head, lang)


async def fetch_article(url: str) -> tuple[str, str]:
    """An article's main text, fetched behind the address guard (robots.txt honoured), or
    ("", why not)."""
    from watcher.web.fulltext import FullText, article_fetcher

    async with article_fetcher() as fetcher:
        article = await FullText(fetcher).article(url)
    if article.status == "ok" and article.text:
        return article.text, ""
    return "", article.error or article.status

"""What people tell the bot about alerts: votes under every alert, and /review of near misses.

Every press is answered with ``answerCallbackQuery`` (a short acknowledgement) and, when the
message is still there, ``editMessageReplyMarkup`` marking the choice (in a group or channel,
whose members all see one keyboard: the vote counts): never a new message. Presses are not
dropped when their chat is busy with alerts (a channel's 20 messages a minute): only the
keyboard edits wait for the bot's overall limit, in tasks of their own.
A vote is one per voter (the pressing user, also in groups and channels) and item, changeable;
the voters in ``WATCHER_TELEGRAM_ADMINS`` give labels, the others signals (docs/labels.md).
/review and its buttons are for admins only. Buttons whose data is not ours, or that name an
alert, item or topic that is gone, get a polite answer and change nothing.

Languages follow the rest of the bot: the presser reads the acknowledgement in the language the
bot answers them in; a keyboard is in the chat's reading language, which in a group or channel
(one keyboard for every member) is the chat's stored or configured one, not the presser's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from html import escape

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from watcher.display import cut, one_line, safe_link
from watcher.notify.i18n import CATALOGUE, DEFAULT, say
from watcher.notify.pacing import Pacer
from watcher.notify.telegram import votes as kb
from watcher.rules.score import Rules
from watcher.store import labels
from watcher.store.alerts import get_alerts
from watcher.store.db import Database

log = logging.getLogger(__name__)

Reply = Callable[..., Awaitable[None]]
Lang = Callable[[Update], Awaitable[str]]  # the language the bot answers an update's sender in
KeyboardLang = Callable[[Chat], str]  # a group's or channel's reading language

PAGE = 3  # near misses per /review page


def voter_of(user: User) -> str:
    return f"tg:{user.id}"


def kept_keyboard(
    db: Database,
    alert_id: int,
    item_id: int,
    target: str,
    lang: str = DEFAULT,
    titles: Mapping[str, str] | None = None,
) -> InlineKeyboardMarkup:
    """The keyboard to send again with an edit of an alert's message (the edit would remove
    it otherwise), showing what it showed: in a private chat (its id is the user's) that
    user's vote, in a group or channel the counts; in the chat's ``lang``."""
    votes = labels.votes_on(db, [item_id]).get(item_id, [])
    if target.lstrip("-").isdigit() and int(target) > 0:
        mine = next((v for v in votes if v.voter == f"tg:{target}"), None)
        topic = mine.topic if mine is not None and mine.topic else ""
        title = (titles or {}).get(topic) or topic
        return kb.vote_keyboard(alert_id, lang, mine.verdict if mine is not None else None, title)
    return kb.vote_keyboard(alert_id, lang, counts=labels.tally(votes))


def near_miss_html(nm: labels.NearMiss, titles: Mapping[str, str], lang: str = DEFAULT) -> str:
    """One near miss for /review: its title as a link, why it is one, each topic's score."""
    title = escape(one_line(nm.title, 300) or say(lang, "untitled"), quote=False)
    link = safe_link(nm.url)
    head = f'<a href="{escape(link)}">{title}</a>' if link else title
    reason = f"near_miss_{nm.reason}"
    why = say(lang, reason) if reason in CATALOGUE[DEFAULT] else nm.reason
    lines = [f"<b>{escape(say(lang, 'near_miss'))}</b>: {escape(why, quote=False)}", head]
    for t in nm.topics:
        score = f"{nm.scores.get(t, 0.0):g}"
        if t in nm.thresholds:
            score = say(lang, "near_miss_of", score=score, threshold=f"{nm.thresholds[t]:g}")
        if t in nm.model_scores:
            score = say(lang, "near_miss_model", score=score, p=f"{nm.model_scores[t]:.2f}")
        lines.append(f"• {escape(titles.get(t) or t, quote=False)}: {escape(score, quote=False)}")
    if nm.model_note:
        lines.append(f"<i>{escape(cut(one_line(nm.model_note, 600), 300), quote=False)}</i>")
    lines.append(f"{escape(nm.source_id, quote=False)} · /explain item {nm.item_id}")
    return "\n".join(lines)


class Feedback:
    """The handlers of vote and review buttons, and of /review."""

    def __init__(
        self,
        db: Database,
        admins: Collection[int],
        rules: Callable[[], Rules],
        reply: Reply,
        clock: Callable[[], float] = time.time,
        pacer: Pacer | None = None,
        *,
        lang: Lang,
        keyboard_lang: KeyboardLang,
    ) -> None:
        self.db = db
        self.lang = lang
        self.keyboard_lang = keyboard_lang
        self.admins = frozenset(admins)
        self.rules = rules
        self.reply = reply
        self.clock = clock
        self.pacer = pacer  # the bot's: keyboard edits count against the overall limit
        self._edits: set[asyncio.Task[None]] = set()

    def _edit(self, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
        """Edit the keyboard in a task of its own (the next update is not held up), within
        the bot's overall limit."""
        if not isinstance(query.message, Message):  # too old: Telegram no longer shows it to us
            return
        task = asyncio.create_task(self._edit_paced(query, markup))
        self._edits.add(task)
        task.add_done_callback(self._edits.discard)

    async def _edit_paced(self, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
        from telegram.error import RetryAfter

        from watcher.notify.telegram.notifier import retry_after_s

        if self.pacer is not None:
            while (wait := self.pacer.global_wait(time.monotonic())) > 0:
                await asyncio.sleep(wait)
            self.pacer.record_global(time.monotonic())
        try:
            await query.edit_message_reply_markup(markup)
        except RetryAfter as exc:
            if self.pacer is not None:
                self.pacer.pause(time.monotonic() + retry_after_s(exc))
            log.info("keyboard not updated: Telegram asked to slow down (%s)", exc)
        except TelegramError as exc:  # not modified, or the message is gone: the vote stands
            log.debug("editMessageReplyMarkup failed: %s", exc)

    def role(self, user: User) -> str:
        return "admin" if user.id in self.admins else "user"

    async def on_button(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Every button that is not a /topics toggle."""
        query = update.callback_query
        if query is None:
            return
        lang = await self.lang(update)
        press = kb.parse(query.data)
        if press is None:
            await _answer(query, say(lang, "button_unknown"))
        elif press.kind == "vote":
            await self._vote(update, query, press, lang)
        elif self.role(query.from_user) != "admin":
            await _answer(query, say(lang, "review_admin_only"))
        elif press.kind == "review":
            await self._review(query, press, lang)
        else:
            await _answer(query, "")
            await self._page(update, (press.created_at, press.target), lang)

    async def _keyboard_lang(self, query: CallbackQuery, lang: str) -> str:
        """The language of the keyboard under ``query``'s message: the presser's in a private
        chat, else the chat's (everyone there sees the one keyboard)."""
        message = query.message
        if _private(query) or not isinstance(message, Message):
            return lang
        return await asyncio.to_thread(self.keyboard_lang, message.chat)

    async def _vote(self, update: Update, query: CallbackQuery, press: kb.Press, lang: str) -> None:
        alert = (await asyncio.to_thread(get_alerts, self.db, [press.target])).get(press.target)
        if alert is None:
            await _answer(query, say(lang, "alert_gone"))
            return
        rules = self.rules()
        shown = await self._keyboard_lang(query, lang)
        if press.action in ("topics", "back"):
            mine = await self._my_vote(alert.item_id, query.from_user)
            if press.action == "topics":
                picked = mine.topic if mine is not None and _private(query) else None
                titles = rules.titles_in(shown)
                markup = kb.topic_keyboard(alert.id, rules.topic_ids, titles, picked, shown)
            else:
                markup = await self._vote_keyboard(query, alert.id, alert.item_id, mine, shown)
            await _answer(query, say(lang, "pick_topic") if press.action == "topics" else "")
            self._edit(query, markup)
            return
        topic = None
        if press.action == "wrong_topic":
            topic = kb.resolve_topic(press.token, rules.topic_ids)
            if topic is None:
                await _answer(query, say(lang, "topic_gone"))
                return
        vote = await self._record(query, alert.item_id, press.action, topic, alert.id, lang)
        if vote is None:
            return
        title = rules.titles_in(lang).get(topic or "") or topic or ""
        await _answer(query, say(lang, f"thanks_{vote.verdict}", topic=title))
        self._edit(query, await self._vote_keyboard(query, alert.id, alert.item_id, vote, shown))

    async def _vote_keyboard(
        self,
        query: CallbackQuery,
        alert_id: int,
        item_id: int,
        vote: labels.Vote | None,
        lang: str,
    ) -> InlineKeyboardMarkup:
        """The presser's vote marked in a private chat; in a group or channel, where every
        member sees the one keyboard, the item's vote counts."""
        if _private(query):
            titles = self.rules().titles_in(lang)
            title = (titles.get(vote.topic) or vote.topic) if vote and vote.topic else ""
            return kb.vote_keyboard(alert_id, lang, vote.verdict if vote else None, title)
        tallies = await asyncio.to_thread(labels.item_tallies, self.db, [item_id])
        return kb.vote_keyboard(alert_id, lang, counts=tallies.get(item_id, labels.Tally()))

    async def _review(self, query: CallbackQuery, press: kb.Press, lang: str) -> None:
        topic = None
        if press.action == "should_alert":
            topic = kb.resolve_topic(press.token, self.rules().topic_ids)
            if topic is None:
                await _answer(query, say(lang, "topic_gone"))
                return
        vote = await self._record(query, press.target, press.action, topic, None, lang)
        if vote is None:
            return
        title = self.rules().titles_in(lang).get(topic or "") or topic or ""
        await _answer(query, say(lang, f"thanks_{vote.verdict}", topic=title))
        message = query.message
        if isinstance(message, Message) and message.reply_markup is not None:
            self._edit(query, _mark_pressed(message.reply_markup, query.data or ""))

    async def _record(
        self,
        query: CallbackQuery,
        item_id: int,
        verdict: str,
        topic: str | None,
        alert_id: int | None,
        lang: str,
    ) -> labels.Vote | None:
        """The vote stored, or None (the presser was told why)."""
        user = query.from_user
        try:
            return await asyncio.to_thread(
                labels.record_vote,
                self.db,
                voter=voter_of(user),
                role=self.role(user),
                channel="telegram",
                item_id=item_id,
                verdict=verdict,
                topic=topic,
                alert_id=alert_id,
                now=self.clock(),
            )
        except ValueError:  # the item was pruned, or its alert kept no item
            await _answer(query, say(lang, "item_gone"))
            return None

    async def _my_vote(self, item_id: int, user: User) -> labels.Vote | None:
        votes = await asyncio.to_thread(labels.votes_on, self.db, [item_id])
        return next((v for v in votes.get(item_id, []) if v.voter == voter_of(user)), None)

    async def review(self, update: Update) -> None:
        """/review (the bot lets admins only in): the newest near misses nobody labelled."""
        await self._page(update, None, await self.lang(update))

    async def _page(self, update: Update, after: tuple[float, int] | None, lang: str) -> None:
        """The next ``PAGE`` near misses nobody labelled, one message each; the last carries
        "more" when there are others."""
        found = await asyncio.to_thread(labels.near_misses, self.db, limit=PAGE + 1, after=after)
        if not found:
            await self.reply(update, escape(say(lang, "nothing_to_review"), quote=False))
            return
        titles = self.rules().titles_in(lang)
        shown = found[:PAGE]
        for nm in shown:
            more = (nm.created_at, nm.item_id) if nm is shown[-1] and len(found) > PAGE else None
            markup = kb.review_keyboard(nm.item_id, nm.topics, titles, more=more, lang=lang)
            await self.reply(update, near_miss_html(nm, titles, lang), reply_markup=markup)


def _mark_pressed(markup: InlineKeyboardMarkup, data: str) -> InlineKeyboardMarkup:
    """``markup`` with the button of ``data`` marked chosen and no other (but "more")."""
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for b in row:
            text = b.text.removeprefix(kb.CHOSEN)
            if b.callback_data == data:
                text = kb.CHOSEN + text
            buttons.append(type(b)(text, callback_data=b.callback_data))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


async def _answer(query: CallbackQuery, text: str) -> None:
    try:
        await query.answer(text[:200] or None)
    except TelegramError as exc:  # too late (the query expired): nothing to do
        log.info("answerCallbackQuery failed: %s", exc)


def _private(query: CallbackQuery) -> bool:
    message = query.message
    return isinstance(message, Message) and message.chat.type == "private"

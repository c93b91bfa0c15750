"""A fake Telegram Bot API on 127.0.0.1 (port 0) that the real python-telegram-bot talks to.

It runs its own asyncio loop in a background thread (usable from sync and async tests and from
benchmarks). Point PTB at ``server.base_url`` (``.base_url(...)``, the ``api_url`` setting).

    with FakeTelegram() as tg:
        tg.send_user_message(chat_id=42, text="/start")       # delivered through getUpdates
        tg.user_message(42, "/start")                          # the same update, to POST yourself
        tg.press_button(chat_id=42, message_id=7, data="t:x")  # a callback query
        tg.answers()                                           # answerCallbackQuery texts
        tg.fail("sendMessage", status=429, retry_after=2)      # next sendMessage answers 429
        tg.fail("sendMessage", status=502, times=3)            # three 5xx answers
        tg.fail("sendMessage", drop=True)                      # connection closed, no answer
        tg.forbid(chat_id=13)                                  # 403: bot was blocked
        tg.messages(42)  # texts the bot sent to 42; tg.calls = every call recorded

editMessageText and editMessageReplyMarkup change a sent message in place (its "edits" and
"markup_edits" count them) and, like the real API, answer 400 "message to edit not found" /
"message is not modified".

Like the real API it refuses more than ``rate_per_s`` sendMessage calls in any one second
(429 with retry_after) and counts those refusals in ``flood_refusals``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Watcher",
    "username": "watcher_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    drop: bool
    times: int


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    forbidden: set[int] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    window: deque[float] = field(default_factory=deque)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by language
    group_admins: set[tuple[int, int]] = field(default_factory=set)  # (chat, user)


class FakeTelegram:
    def __init__(self, token: str = "123:TEST", rate_per_s: int = 30) -> None:
        self.token = token
        self.rate_per_s = rate_per_s
        self.flood_refusals = 0
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
        self._state = _State()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._new_update: asyncio.Event | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._new_update = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The ``api_url`` in PTB's ``base_url`` form (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test API --------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.calls)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot sent (and that were accepted) to ``chat_id``, as the API stores them."""
        with self._lock:
            return list(self._state.sent.get(str(chat_id), []))

    def all_messages(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {k: list(v) for k, v in self._state.sent.items()}

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The menu set for every language (setMyCommands without language_code)."""
        return self.commands_in("")

    def commands_in(self, language_code: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.commands.get(language_code, []))

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        description: str = "",
        retry_after: int | None = None,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        desc = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        with self._lock:
            self._state.faults.append(_Fault(method, status, desc, retry_after, drop, times))

    def forbid(self, chat_id: int) -> None:
        with self._lock:
            self._state.forbidden.add(chat_id)

    def make_group_admin(self, chat_id: int, user_id: int) -> None:
        """getChatMember answers "administrator" for this user in this chat ("member" else)."""
        with self._lock:
            self._state.group_admins.add((chat_id, user_id))

    def make_missing(self, chat: str) -> None:
        with self._lock:
            self._state.missing.add(chat)

    def send_user_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        language_code: str | None = None,
    ) -> None:
        """A user writes ``text`` to the bot: delivered through getUpdates."""
        self._push(
            self.user_message(
                chat_id, text, chat_type=chat_type, user_id=user_id, language_code=language_code
            )
        )

    def user_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """The body of a message update (without ``update_id``), e.g. to POST to a webhook;
        ``language_code``: the Telegram app's language of the user (none: not sent)."""
        user = _user(chat_id, user_id, language_code)
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": f"User{chat_id}"},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": message}

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = None,
    ) -> str:
        """A user presses a button of a message the bot sent (in a channel or group: the
        presser is ``user_id``; ``language_code``: their Telegram app's language); the query
        carries the message as the bot last left it."""
        query_id = f"q{next(self._ids)}"
        user = _user(chat_id, user_id, language_code)
        with self._lock:
            sent = [
                m for m in self._state.sent.get(str(chat_id), []) if m["message_id"] == message_id
            ]
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": f"User{chat_id}"},
            "from": BOT_USER,
            "text": sent[-1]["text"] if sent else "…",
        }
        if sent and sent[-1].get("reply_markup"):
            message["reply_markup"] = sent[-1]["reply_markup"]
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "chat_instance": str(chat_id),
                    "data": data,
                    "message": message,
                }
            }
        )
        return query_id

    def answers(self) -> list[str]:
        """The texts of answerCallbackQuery calls, in order ("" for an answer without text)."""
        return [str(c.params.get("text") or "") for c in self.calls_of("answerCallbackQuery")]

    def _push(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._state.updates.append({"update_id": next(self._update_ids), **body})
        event = self._new_update
        if event is not None:
            self._loop.call_soon_threadsafe(event.set)

    # -- HTTP ------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _verb, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                params = _parse_body(headers.get("content-type", ""), body)
                path = urllib.parse.urlsplit(target).path
                status, payload, drop = await self._dispatch(path, params)
                if drop:
                    writer.close()
                    return
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:  # the server is closing
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(self, path: str, params: dict[str, Any]) -> tuple[int, Any, bool]:
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, False
        method = path[len(prefix) :]
        now = time.monotonic()
        fault = self._take_fault(method)
        if fault is not None:
            self._record(method, params, now, fault.status)
            if fault.drop:
                return 0, None, True
            error: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                error["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, error, False
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
            self._record(method, params, now, 200)
            return 200, {"ok": True, "result": result}, False
        status, result = self._answer(method, params, now)
        self._record(method, params, now, status)
        if status != 200:
            return status, result, False
        return 200, {"ok": True, "result": result}, False

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._state.faults.remove(fault)
                    return fault
        return None

    def _record(self, method: str, params: dict[str, Any], at: float, status: int) -> None:
        with self._lock:
            self._state.calls.append(Call(method, params, at, status))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30.0)
        assert self._new_update is not None
        while True:
            with self._lock:
                if offset:
                    self._state.updates = [
                        u for u in self._state.updates if u["update_id"] >= offset
                    ]
                pending = list(self._state.updates)
            left = deadline - time.monotonic()
            if pending or left <= 0:
                return pending
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), left)

    def _answer(self, method: str, params: dict[str, Any], now: float) -> tuple[int, Any]:
        if method == "getMe":
            return 200, BOT_USER
        if method == "setWebhook":
            with self._lock:
                self.webhook = dict(params)
            return 200, True
        if method in ("deleteWebhook", "setMyCommands", "answerCallbackQuery", "close"):
            if method == "deleteWebhook":
                with self._lock:
                    self.webhook = None
            if method == "setMyCommands":
                with self._lock:
                    menu = list(_json_field(params.get("commands")) or [])
                    self._state.commands[str(params.get("language_code") or "")] = menu
            return 200, True
        if method == "getMyCommands":
            return 200, self.commands_in(str(params.get("language_code") or ""))
        if method == "getChatMember":
            return 200, self._member(int(params["chat_id"]), int(params["user_id"]))
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return self._send(method, params, now)
        return 400, {"ok": False, "error_code": 400, "description": f"unknown method {method}"}

    def _member(self, chat: int, user_id: int) -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        with self._lock:
            admin = (chat, user_id) in self._state.group_admins
        if not admin:
            return {"status": "member", "user": user}
        rights = [
            "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
            "can_manage_video_chats", "can_restrict_members", "can_promote_members",
            "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
            "can_delete_stories",
        ]  # fmt: skip
        return {"status": "administrator", "user": user, **dict.fromkeys(rights, False)}

    def _send(self, method: str, params: dict[str, Any], now: float) -> tuple[int, Any]:
        chat = str(params.get("chat_id", ""))
        with self._lock:
            if method == "sendMessage":
                while self._state.window and self._state.window[0] <= now - 1.0:
                    self._state.window.popleft()
                if len(self._state.window) >= self.rate_per_s:
                    self.flood_refusals += 1
                    return 429, {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    }
                self._state.window.append(now)
            if chat.lstrip("-").isdigit() and int(chat) in self._state.forbidden:
                return 403, {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            if chat in self._state.missing:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: chat not found",
                }
            text = str(params.get("text", ""))
            if len(text) > 4096:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is too long",
                }
            if method == "editMessageText":
                return self._edit_text(chat, params, text)
            if method == "editMessageReplyMarkup":
                return self._edit_markup(chat, params)
            chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
            message = {
                "message_id": int(params.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id if isinstance(chat_id, int) else -100, "type": "private"},
                "text": text,
                "method": method,
                "parse_mode": params.get("parse_mode"),
                "link_preview_options": _json_field(params.get("link_preview_options")),
                "reply_markup": _json_field(params.get("reply_markup")),
            }
            self._state.sent.setdefault(chat, []).append(message)
        public = {k: v for k, v in message.items() if k in ("message_id", "date", "chat", "text")}
        return 200, public

    def _edit_text(self, chat: str, params: dict[str, Any], text: str) -> tuple[int, Any]:
        """editMessageText as the real API: the message must exist and change (lock held)."""
        wanted = int(params.get("message_id") or 0)
        found = [m for m in self._state.sent.get(chat, []) if m["message_id"] == wanted]
        if not found:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message to edit not found",
            }
        message = found[0]
        markup = _json_field(params.get("reply_markup"))
        if message["text"] == text and message.get("reply_markup") == markup:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message is not modified: specified new message"
                " content and reply markup are exactly the same as a current content and reply"
                " markup of the message",
            }
        message["text"] = text
        message["reply_markup"] = markup
        message["edits"] = int(message.get("edits", 0)) + 1
        message["edit_parse_mode"] = params.get("parse_mode")
        public = {k: v for k, v in message.items() if k in ("message_id", "date", "chat", "text")}
        return 200, public

    def _edit_markup(self, chat: str, params: dict[str, Any]) -> tuple[int, Any]:
        """editMessageReplyMarkup as the real API: the message must exist and change."""
        wanted = int(params.get("message_id") or 0)
        found = [m for m in self._state.sent.get(chat, []) if m["message_id"] == wanted]
        if not found:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message to edit not found",
            }
        message = found[0]
        markup = _json_field(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message is not modified",
            }
        message["reply_markup"] = markup
        message["markup_edits"] = int(message.get("markup_edits", 0)) + 1
        public = {k: v for k, v in message.items() if k in ("message_id", "date", "chat", "text")}
        return 200, public


def _json_field(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        loaded = json.loads(body)
        return loaded if isinstance(loaded, dict) else {}
    if "multipart/form-data" in content_type:
        boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
        out: dict[str, Any] = {}
        for part in body.split(b"--" + boundary):
            head, sep, value = part.partition(b"\r\n\r\n")
            if not sep or b'name="' not in head:
                continue
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            out[name] = value.rstrip(b"\r\n").decode("utf-8", "replace")
        return out
    return {k: v for k, v in urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)}


def _user(chat_id: int, user_id: int | None, language_code: str | None) -> dict[str, Any]:
    """The ``from`` of an update: the chat's user unless ``user_id`` says who (a group's
    member); ``language_code``: their Telegram app's language (none: not sent)."""
    user: dict[str, Any] = {
        "id": user_id or chat_id,
        "is_bot": False,
        "first_name": f"User{chat_id}",
    }
    if language_code is not None:
        user["language_code"] = language_code
    return user

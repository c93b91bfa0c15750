"""Access to the pages, over real HTTP against ``watcher run``'s web app (no browser): the bind
rule, login and the session cookie, CSRF on every POST, the write log, and no secret on any
page."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.servers.feedserver import FeedServer
from tests.web_helpers import ALERTING, WatcherRun, csrf_of, login, rss, write_config
from watcher.archive import ArchiveSettings
from watcher.cli import main
from watcher.errors import ConfigError
from watcher.notify.email import SmtpSettings
from watcher.notify.telegram import TelegramSettings
from watcher.pages import WebSettings
from watcher.pages.access import check_bind, safe_next
from watcher.settings import Settings, StorySettings
from watcher.store.sources import record_failure

TOKEN = "correct-horse-battery-staple"
BOT_TOKEN = "123456:SECRET-bot-token-value"
SMTP_PASSWORD = "smtp-pass-w0rd-secret"
FEED_PASSWORD = "feedpass99"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_settings(folder: Path, *, host: str = "127.0.0.1", token: str = "") -> Settings:
    return Settings(
        config_dir=folder,
        http_host=host,
        http_port=free_port(),
        instance_id="pages:1",
        sections=(
            WebSettings(token=token),
            ArchiveSettings(enabled=False),  # no capture of the (unreachable) article URLs
            StorySettings(encoder=False),
        ),
    )


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[Path]:
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING], "n"))
        write_config(tmp_path, server, ["/news.xml"])
        yield tmp_path


@pytest.mark.parametrize(
    ("host", "token", "refused"),
    [
        ("127.0.0.1", "", False),
        ("127.0.0.2", "", False),
        ("::1", "", False),
        ("localhost", "", False),
        ("0.0.0.0", "", True),
        ("::", "", True),
        ("192.168.1.5", "", True),
        ("watcher.example.org", "", True),
        ("0.0.0.0", TOKEN, False),
    ],
)
def test_off_loopback_needs_a_token(host: str, token: str, refused: bool) -> None:
    if refused:
        with pytest.raises(ConfigError, match="set WATCHER_WEB_TOKEN"):
            check_bind(host, token)
    else:
        check_bind(host, token)


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The commands set up logging on the (captured) stderr: put the test's back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("keep_logging")
@pytest.mark.parametrize("command", ["run", "web", "check"])
def test_both_commands_refuse_to_start_open_to_the_network(
    feeds: Path, command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("WATCHER_HTTP_PORT", str(free_port()))
    monkeypatch.delenv("WATCHER_WEB_TOKEN", raising=False)
    assert main(["--config", str(feeds), command]) == 2
    err = capsys.readouterr().err
    assert "WATCHER_WEB_TOKEN" in err and "0.0.0.0" in err and "Traceback" not in err


def test_a_short_token_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        WebSettings.load({"WATCHER_WEB_TOKEN": "short-pass"})
    assert "WATCHER_WEB_TOKEN: too short" in str(caught.value)
    assert "short-pass" not in str(caught.value)


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/alerts?before=9", "/alerts?before=9"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_login_returns_only_to_this_site(target: str, safe: str) -> None:
    assert safe_next(target) == safe


@pytest.mark.slow
def test_login_session_cookie_csrf_and_the_write_log(
    feeds: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bound to 0.0.0.0 (a real bind) with a token: pages need a login, health does not."""
    caplog.set_level(logging.INFO, logger="watcher.pages")
    settings = run_settings(feeds, host="0.0.0.0", token=TOKEN)
    with WatcherRun(settings) as run, httpx.Client(base_url=run.base) as c:
        assert c.get("/healthz").status_code in (200, 503)
        assert c.get("/metrics").status_code == 200
        first = c.get("/alerts?before=5")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/alerts%3Fbefore%3D5"
        assert c.get("/archive/1").status_code == 303
        assert c.post("/logout").status_code == 403  # not signed in: no writes at all

        form = c.get("/login").text
        wrong = c.post("/login", data={"csrf": csrf_of(form), "name": "x", "token": "nope"})
        assert wrong.status_code == 401 and "Wrong token" in wrong.text
        no_csrf = c.post("/login", data={"name": "alice", "token": TOKEN})
        assert no_csrf.status_code == 403

        signed = login(c, TOKEN)
        assert signed.status_code == 303 and signed.headers["location"] == "/alerts"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        page = c.get("/alerts")
        assert page.status_code == 200 and "alice" in page.text

        assert c.post("/logout").status_code == 403  # signed in, but no CSRF token
        assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
        assert c.get("/alerts").status_code == 200  # still signed in
        out = c.post("/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert c.get("/alerts").status_code == 303  # signed out
    writes = [r.getMessage() for r in caplog.records if r.name == "watcher.pages.writes"]
    assert writes == [
        "write by alice: POST /login -> 303: signed in as alice",
        "write by alice: POST /logout -> 303: signed out",
    ]
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_loopback_without_token_writes_as_local_and_still_checks_csrf(
    feeds: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watcher.pages")
    with WatcherRun(run_settings(feeds)) as run, httpx.Client(base_url=run.base) as c:
        page = c.get("/alerts")
        assert page.status_code == 200 and "local" in page.text
        assert c.post("/logout").status_code == 403
        header = {"X-CSRF-Token": csrf_of(page.text)}
        assert c.post("/logout", headers=header).status_code == 303
        assert c.post("/login", data={}).status_code == 403
    writes = [r.getMessage() for r in caplog.records if r.name == "watcher.pages.writes"]
    assert writes == ["write by local: POST /logout -> 303: signed out"]


@pytest.mark.slow
def test_no_secret_is_ever_shown(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING], "n"))
        write_config(tmp_path, server, ["/news.xml"])
        feeds = (tmp_path / "feeds.yaml").read_text()
        secret_url = server.url("/news.xml").replace("http://", f"http://bob:{FEED_PASSWORD}@")
        (tmp_path / "feeds.yaml").write_text(feeds.replace(server.url("/news.xml"), secret_url))
        base = run_settings(tmp_path, token=TOKEN)
        extra = (
            TelegramSettings(token=BOT_TOKEN, api_url="http://127.0.0.1:9/bot"),
            SmtpSettings(host="127.0.0.1", port=9, password=SMTP_PASSWORD),
        )
        settings = base.model_copy(update={"sections": base.sections + extra})
        with WatcherRun(settings) as run, httpx.Client(base_url=run.base) as c:
            record_failure(run.db, "news", now=1.0, kind="HTTP 500",
                           detail=f"{BOT_TOKEN} {SMTP_PASSWORD} {TOKEN} {secret_url}",
                           next_check_at=2.0)  # fmt: skip
            login(c, TOKEN)
            pages = [c.get(p).text for p in ("/alerts", "/sources", "/login", "/nowhere")]
    shown = "\n".join(pages)
    assert "HTTP 500" in shown and "bob:***@" in shown  # the error is there, redacted
    for secret in (BOT_TOKEN, SMTP_PASSWORD, TOKEN, FEED_PASSWORD):
        assert secret not in shown


@pytest.mark.slow
def test_hostile_query_strings_are_answered_and_escaped(feeds: Path) -> None:
    with WatcherRun(run_settings(feeds)) as run, httpx.Client(base_url=run.base) as c:

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(st.text(max_size=300), st.sampled_from(["/alerts", "/sources"]))
        @example("<script>x</script>", "/alerts")
        @example("9" * 30, "/alerts")  # past the store's 64-bit integers
        @example("²", "/alerts")
        def check(value: str, path: str) -> None:
            r = c.get(path, params={"before": value, "source": value})
            assert r.status_code == 200, (value, r.text[:300])
            assert "<script" not in r.text.lower() or "<script" not in value.lower()

        check()


@pytest.mark.slow
def test_what_is_refused_before_any_handler_runs(feeds: Path) -> None:
    """Without a token: a request naming a host that is not this machine (a site pointing its
    name at 127.0.0.1) is refused, probes are not; a body past the limit is refused when it
    comes in chunks too; a digit string past the store's integers is a 404, not a 500."""
    with WatcherRun(run_settings(feeds)) as run, httpx.Client(base_url=run.base) as c:
        hosts = {"127.0.0.1:1": 200, "localhost": 200, "[::1]:8080": 200, "evil.example": 421}
        for host, status in hosts.items():
            assert c.get("/alerts", headers={"Host": host}).status_code == status, host
        assert c.get("/healthz", headers={"Host": "evil.example"}).status_code in (200, 503)
        csrf = {"X-CSRF-Token": csrf_of(c.get("/playground").text)}

        def chunks() -> Iterator[bytes]:
            yield from (b"keywords=" + b"x" * 1024 * 1024 for _ in range(3))

        form = {**csrf, "Content-Type": "application/x-www-form-urlencoded"}
        assert c.post("/playground/rules", content=chunks(), headers=form).status_code == 413
        for path in ("/items/" + "9" * 30, "/archive/" + "9" * 30, "/items/" + "9" * 15):
            assert c.get(path).status_code == 404, path


async def test_every_writing_route_is_guarded_whatever_methods_it_declares() -> None:
    import asyncio

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from watcher.pages.access import Access
    from watcher.pages.app import _guarded
    from watcher.pages.server import bound_port, listen, serve

    async def handler(request: object) -> PlainTextResponse:
        return PlainTextResponse("done")

    routes = [
        _guarded(Route("/any", handler)),  # no methods: Starlette allows GET only
        _guarded(Route("/put", handler, methods=["GET", "PUT", "DELETE"])),
        _guarded(Route("/read", handler, methods=["GET"])),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SessionMiddleware, secret_key="k")])
    app.state.access = Access("")
    sock, stop = listen("127.0.0.1", 0, "test"), asyncio.Event()
    base = f"http://127.0.0.1:{bound_port(sock)}"
    task = asyncio.create_task(serve(app, sock, stop))
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            assert [(await c.get(p)).status_code for p in ("/any", "/put", "/read")] == [200] * 3
            refused = [await c.post("/any"), await c.put("/put"), await c.delete("/put")]
            assert [r.status_code for r in refused] == [405, 403, 403]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    with pytest.raises(TypeError, match="not Mount"):
        _guarded(Mount("/sub", routes=[Route("/x", handler, methods=["POST"])]))

"""WATCHER_TELEGRAM_* from the environment and a ``.env`` file (table: settings_cases.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.errors import ConfigError
from watcher.notify.kinds import load_settings
from watcher.notify.telegram import TelegramSettings, parse_channel

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parent / "data" / "telegram" / "settings_cases.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_telegram_settings(case: dict[str, Any], tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    if "dotenv" in case:
        dotenv.write_text(case["dotenv"])

    def load() -> tuple[Any, list[Any]]:
        tg = load_settings(case["env"], dotenv=dotenv).section(TelegramSettings)
        return tg, [parse_channel(c) for c in tg.channels]

    if "error" in case:
        with pytest.raises(ConfigError, match=case["error"]):
            load()
        return
    tg, channels = load()
    for key, value in case["expect"].items():
        if key == "channels":
            shown = [[c.address, list(c.topics), c.lang, c.tz] for c in channels]
            assert [c[: len(v)] for c, v in zip(shown, value, strict=True)] == value
        elif key == "admins":
            assert list(tg.admins) == value
        else:
            assert getattr(tg, key) == value, key

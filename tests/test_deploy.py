"""deploy/: what can be checked without a Docker engine or a systemd host.

* ``.env.example`` lists every ``WATCHER_*`` setting watcher reads, nothing else, with the
  real defaults;
* ``compose.yaml`` parses and has the expected structure (SQLite by default, a ``postgres``
  profile, state on a volume, health check, loopback-only ports);
* the Dockerfile is read instruction by instruction (slim base, non-root user, volume,
  HEALTHCHECK through the probe, every COPY source in the build context);
* the systemd unit passes ``systemd-analyze verify`` and scores well on
  ``systemd-analyze security`` where systemd-analyze is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.notify.kinds import load_settings, variables

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_NAME = re.compile(r"^#?\s*((?:WATCHER|POSTGRES)_[A-Z0-9_]+)=(.*)$")
STATE_DIR = "/var/lib/watcher"


def env_example() -> list[tuple[str, str]]:
    out = []
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        m = ENV_NAME.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def names_read_by_watcher() -> set[str]:
    """Every ``WATCHER_*`` variable declared (watcher.settings and each notifier's module)."""
    return {v.name for v in variables()}


def test_env_example_lists_every_setting_and_only_real_ones() -> None:
    listed = {name for name, _ in env_example() if name.startswith("WATCHER_")}
    declared = names_read_by_watcher()
    assert len(declared) >= 20, "too few declarations found: the notifier discovery broke"
    assert sorted(declared - listed) == [], "add these to deploy/.env.example"
    assert sorted(listed - declared) == [], "deploy/.env.example lists settings nobody reads"


def test_env_example_shows_the_declared_defaults() -> None:
    """The first ``#WATCHER_X=value`` line of a setting is its declared default, and setting
    it changes nothing (later lines of the same name are examples)."""
    declared = {v.name: v.default for v in variables()}
    defaults = load_settings({})
    seen: set[str] = set()
    for name, value in env_example():
        if name in seen or not name.startswith("WATCHER_"):
            continue
        seen.add(name)
        assert value == declared[name], f"{name}: .env.example says {value!r}"
        if value:
            assert load_settings({name: value}) == defaults, f"{name}={value} is not the default"
    assert seen == set(declared)


def test_readme_settings_table_names_every_setting() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    table = text[text.index("| variable | meaning |") :].split("\n\n", 1)[0]
    named = set(re.findall(r"`(WATCHER_[A-Z0-9_]+)`", table))
    assert named == names_read_by_watcher()


def test_env_example_is_all_comments_so_defaults_stay_defaults() -> None:
    # An uncommented empty line (WATCHER_DB=) would override the unit's/compose's value.
    for line in (DEPLOY / ".env.example").read_text("utf-8").splitlines():
        assert not line.strip() or line.startswith("#"), line


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return data


def test_compose_runs_sqlite_by_default_and_postgres_in_a_profile() -> None:
    compose = load_compose()
    services = compose["services"]
    assert set(services) == {"watcher", "postgres"}
    watcher, postgres = services["watcher"], services["postgres"]
    assert "profiles" not in watcher  # `docker compose up` starts it
    assert postgres["profiles"] == ["postgres"]
    # The build points at the Dockerfile from the repository root.
    build = watcher["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    env = watcher["environment"]
    assert env["WATCHER_DB"] == "${WATCHER_DB:-" + STATE_DIR + "/watcher.db}"
    assert env["WATCHER_CONFIG_DIR"] == "/etc/watcher"
    # State on a named volume, config read-only.
    volumes = watcher["volumes"]
    assert f"watcher-state:{STATE_DIR}" in volumes
    assert "./config:/etc/watcher:ro" in volumes
    assert set(compose["volumes"]) == {"watcher-state", "postgres-data"}
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    # Health through the probe on the port the container listens on; published on loopback.
    assert watcher["healthcheck"]["test"] == ["CMD", "python", "-m", "watcher.ops.probe"]
    assert env["WATCHER_HTTP_PORT"] == "8080"
    assert all(p.startswith("127.0.0.1:") and p.endswith(":8080") for p in watcher["ports"])
    # PostgreSQL is waited for when its profile is on, ignored when it is not.
    assert watcher["depends_on"]["postgres"] == {"condition": "service_healthy", "required": False}
    assert "pg_isready" in postgres["healthcheck"]["test"][1]
    # Hardening.
    assert watcher["read_only"] is True and watcher["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in watcher["security_opt"]
    assert watcher["env_file"] == [{"path": ".env", "required": False}]


def test_compose_variables_are_documented_in_env_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used == {"WATCHER_DB", "POSTGRES_PASSWORD", "WATCHER_WEB_TOKEN"}
    assert used <= {name for name, _ in env_example()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text("utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, "a continuation line runs off the end"
    return out


def test_dockerfile_slim_non_root_volume_and_healthcheck() -> None:
    instructions = dockerfile_instructions()
    kinds = [k for k, _ in instructions]
    known = {"ARG", "FROM", "ENV", "WORKDIR", "COPY", "RUN", "LABEL", "VOLUME", "USER",
             "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD"}  # fmt: skip
    assert set(kinds) <= known, set(kinds) - known
    args = dict(i for i in instructions if i[0] == "ARG")
    assert "slim" in args["ARG"]
    froms = [rest for k, rest in instructions if k == "FROM"]
    assert len(froms) == 2 and all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    # The final stage runs as the dedicated user, declared after everything root does.
    last_from = max(i for i, k in enumerate(kinds) if k == "FROM")
    final = instructions[last_from:]
    users = [rest for k, rest in final if k == "USER"]
    assert users == ["watcher:watcher"]
    user_at = [k for k, _ in final].index("USER")
    assert all(k != "RUN" for k, _ in final[user_at:])
    assert ("VOLUME", f'["{STATE_DIR}"]') in final
    env = " ".join(rest for k, rest in final if k == "ENV")
    assert f"WATCHER_DB={STATE_DIR}/watcher.db" in env
    assert "WATCHER_HTTP_PORT=8080" in env
    for name in re.findall(r"(WATCHER_[A-Z_]+)=", env):
        assert name in names_read_by_watcher()
    health = next(rest for k, rest in final if k == "HEALTHCHECK")
    assert health.endswith('CMD ["python", "-m", "watcher.ops.probe"]')
    assert ("ENTRYPOINT", '["watcher"]') in final and ("CMD", '["run"]') in final


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for kind, rest in dockerfile_instructions():
        if kind != "COPY" or rest.startswith("--from="):
            continue
        *sources, _dest = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
            assert source.rstrip("/") in allowed, f"COPY {source}: excluded by .dockerignore"


def test_probe_runs_as_a_module_and_fails_without_a_port() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watcher.ops.probe"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 1
    assert "WATCHER_HTTP_PORT is not set" in result.stderr


def unit_settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "watcher.service").read_text("utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_systemd_unit_is_hardened_and_keeps_state_in_its_state_directory() -> None:
    unit = unit_settings()
    for key, value in {
        "User": "watcher",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "Restart": "on-failure",
        "StateDirectory": "watcher",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit.get(key) == [value], key
    assert "WATCHER_DB=/var/lib/watcher/watcher.db" in unit["Environment"]
    assert unit["EnvironmentFile"] == ["-/etc/watcher/watcher.env"]
    assert unit["ExecStart"] == ["/opt/watcher/bin/watcher run"]


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed here (apt-get install systemd)",
)


def _unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's watcher (verify checks it exists)."""
    watcher_bin = Path(sys.executable).parent / "watcher"
    if not watcher_bin.exists():
        pytest.skip(f"{watcher_bin} is not installed (pip install -e .)")
    text = (DEPLOY / "watcher.service").read_text("utf-8")
    unit = tmp_path / "watcher.service"
    unit.write_text(text.replace("/opt/watcher/bin/watcher", str(watcher_bin)), "utf-8")
    return unit


@needs_systemd
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    unit = _unit_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 even for unknown keys and bad values, so its warnings are checked too.
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "watcher.service" in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


@needs_systemd
def test_systemd_analyze_security_rates_the_unit_well(tmp_path: Path) -> None:
    unit = _unit_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    m = re.search(r"Overall exposure level for watcher.service: ([0-9.]+)", result.stdout)
    if m is None:
        pytest.skip(f"this systemd-analyze cannot rate units offline: {result.stderr[-300:]}")
    # 0 = fully locked down, 10 = unprotected; "OK" starts below 5.
    assert float(m.group(1)) <= 2.0, result.stdout

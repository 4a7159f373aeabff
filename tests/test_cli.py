"""The `ordergraph` command line, run in-process against a temporary SQLite database."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.settings import get_settings
from domain.identity.services import create_token
from domain.orders.lifecycle import OrderStatus
from ordergraph import cli
from ordergraph.app import build_runtime
from ordergraph.cli import args as cli_args
from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD

PASSWORD = "correct horse battery"


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DATABASE_URL points at a SQLite file in a folder that does not exist yet."""
    path = tmp_path / "var" / "nested" / "og.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("ORDERGRAPH_FILES_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; returns the exit code, stdout and stderr."""
    get_settings.cache_clear()  # settings are read once per process; each run here is a new "process"
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ordergraph: error: "), err
    return lines[0]


@pytest.fixture
def migrated(db_file: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, _ = run(capsys, "db", "upgrade")
    assert code == 0
    return db_file


def create_org(capsys: pytest.CaptureFixture[str], kind: str, name: str, programme: str = "Marketplace") -> UUID:
    code, out, _ = run(capsys, "create-organisation", "--programme", programme, "--kind", kind, "--name", name)
    assert code == 0
    return UUID(out.strip())


# ---- db ---------------------------------------------------------------------------------------


def test_db_upgrade_creates_the_folder_and_current_reports_head(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "db", "current")
    assert (code, out.startswith("none")) == (0, True)
    assert not db_file.exists()  # asking does not create the database

    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0
    assert db_file.exists()
    assert "(head)" in out

    code, out, _ = run(capsys, "db", "current")
    assert code == 0
    assert out.strip().endswith("(head)")

    code, _, _ = run(capsys, "db", "upgrade")  # again: nothing to do, still fine
    assert code == 0


def test_unknown_revision_is_a_clear_error(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "upgrade", "--revision", "nope")
    assert code == 1
    assert "nope" in one_line_error(err)


# ---- organisations and users --------------------------------------------------------------------


def test_create_organisation_reuses_a_programme_by_name(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "create-organisation", "--programme", "Marketplace", "--kind", "vendor", "--name", "V")
    assert code == 0
    vendor_id = UUID(out.strip())  # stdout is just the id, for scripts
    assert "new programme 'Marketplace'" in err
    partner_id = create_org(capsys, "PARTNER", "P")
    other_id = create_org(capsys, "PARTNER", "P", programme="Elsewhere")

    with sqlite3.connect(migrated) as db:
        rows = dict(db.execute("SELECT o.id, p.name FROM organisations o JOIN programmes p ON p.id = o.programme_id"))
        assert db.execute("SELECT count(*) FROM programmes").fetchone() == (2,)
    assert {UUID(k): v for k, v in rows.items()} == {
        vendor_id: "Marketplace",
        partner_id: "Marketplace",
        other_id: "Elsewhere",
    }


def test_one_vendor_per_programme_and_unique_names(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_org(capsys, "VENDOR", "Northwind")
    code, _, err = run(capsys, "create-organisation", "--programme", "Marketplace", "--kind", "VENDOR", "--name", "X")
    assert code == 1
    assert "already has a vendor" in one_line_error(err)
    code, _, err = run(
        capsys, "create-organisation", "--programme", "Marketplace", "--kind", "PARTNER", "--name", "NORTHWIND"
    )
    assert code == 1
    assert "already has an organisation named" in one_line_error(err)


def test_create_user_then_duplicate_email_fails(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = str(create_org(capsys, "PARTNER", "Bluefin"))
    args = ["create-user", "--organisation", org, "--email", "Ann@Bluefin.example", "--name", "Ann", "--role", "admin"]

    code, out, err = run(capsys, *args, "--password", PASSWORD)
    assert code == 0
    user_id = UUID(out.strip())
    assert "ADMIN ann@bluefin.example" in err

    code, out, err = run(capsys, *args, "--password", PASSWORD)
    assert (code, out) == (1, "")
    assert one_line_error(err) == "ordergraph: error: a user with the email ann@bluefin.example already exists"

    with sqlite3.connect(migrated) as db:
        stored = db.execute("SELECT id, email, role, password_hash FROM users").fetchall()
    assert len(stored) == 1
    assert (UUID(stored[0][0]), stored[0][1], stored[0][2]) == (user_id, "ann@bluefin.example", "ADMIN")
    assert stored[0][3].startswith("$argon2id$")


def test_the_new_user_can_sign_in(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = str(create_org(capsys, "PROVIDER", "Brightwave"))
    code, _, _ = run(
        capsys, "create-user", "--organisation", org, "--email", "b@x.example", "--name", "B", "--password", PASSWORD
    )
    assert code == 0

    async def sign_in() -> str:
        runtime = build_runtime(get_settings())
        try:
            _secret, _token, user = await create_token(runtime.ports, "b@x.example", PASSWORD)
            return user.role.value
        finally:
            await runtime.engine.dispose()

    assert asyncio.run(sign_in()) == "MEMBER"


def test_password_is_asked_twice_on_a_terminal(
    migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = str(create_org(capsys, "PARTNER", "Bluefin"))
    answers = iter([PASSWORD, PASSWORD + "typo", PASSWORD, PASSWORD])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: Any = None) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(cli_args, "_stdin_is_terminal", lambda: True)
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    args = ("create-user", "--organisation", org, "--name", "Ann")

    code, _, err = run(capsys, *args, "--email", "ann@bluefin.example")
    assert code == 1
    assert "do not match" in one_line_error(err)

    code, out, _ = run(capsys, *args, "--email", "ann@bluefin.example")
    assert code == 0
    UUID(out.strip())
    assert prompts == ["Password: ", "Repeat password: "] * 2


def test_password_is_read_from_stdin_without_a_terminal(
    migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = str(create_org(capsys, "PARTNER", "Bluefin"))
    monkeypatch.setattr(cli_args, "_stdin_is_terminal", lambda: False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    code, _, _ = run(capsys, "create-user", "--organisation", org, "--email", "a@b.example", "--name", "A")
    assert code == 0

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "create-user", "--organisation", org, "--email", "c@b.example", "--name", "C")
    assert code == 1
    assert "no password given" in one_line_error(err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--password", "short"], "at least 12 characters"),
        (["--organisation", "00000000-0000-0000-0000-000000000000"], "no organisation has the id"),
    ],
)
def test_create_user_refusals(
    migrated: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    org = str(create_org(capsys, "PARTNER", "Bluefin"))
    base = {"--organisation": org, "--email": "a@b.example", "--name": "A", "--password": PASSWORD}
    base.update(zip(argv[::2], argv[1::2], strict=True))
    code, out, err = run(capsys, "create-user", *(item for pair in base.items() for item in pair))
    assert (code, out) == (1, "")
    assert message in one_line_error(err)


def test_outside_recipients_is_switched_per_organisation(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given two providers, neither of which may email outside addresses (the default)
    first, second = create_org(capsys, "PROVIDER", "Agency"), create_org(capsys, "PROVIDER", "Studio")

    def allowed() -> dict[UUID, bool]:
        with sqlite3.connect(migrated) as db:
            return {UUID(i): bool(v) for i, v in db.execute("SELECT id, outside_recipients FROM organisations")}

    assert allowed() == {first: False, second: False}
    # when the operator turns it on for one, then off again
    code, out, err = run(capsys, "outside-recipients", "--organisation", str(first), "on")
    assert (code, out) == (0, "") and "'Agency' may now send follow-ups to any address" in err
    assert allowed() == {first: True, second: False}
    code, _, err = run(capsys, "outside-recipients", "--organisation", str(first), "off")
    assert code == 0 and "only to an order's people and recipients" in err
    assert allowed() == {first: False, second: False}
    # and an unknown organisation is one line
    code, _, err = run(capsys, "outside-recipients", "--organisation", "00000000-0000-0000-0000-000000000000", "on")
    assert code == 1 and "no organisation has the id" in one_line_error(err)


def test_commands_need_a_migrated_database(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "create-organisation", "--programme", "M", "--kind", "PARTNER", "--name", "P")
    assert code == 1
    assert "ordergraph db upgrade" in one_line_error(err)
    assert not db_file.exists()


# ---- usage and settings errors --------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["create-organisation", "--programme", "M", "--kind", "BOSS", "--name", "X"],
        ["create-user", "--organisation", "not-a-uuid", "--email", "a@b.example", "--name", "A"],
        ["create-user", "--organisation", "00000000-0000-0000-0000-000000000000", "--email", "nope", "--name", "A"],
        ["serve", "--port", "70000"],
        ["demo", "--orders", "-3"],
        ["outside-recipients", "--organisation", "00000000-0000-0000-0000-000000000000", "maybe"],
    ],
)
def test_usage_errors_exit_2_with_the_usage(db_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("usage: ordergraph")
    assert "error:" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "create-organisation" in out
    assert "DATABASE_URL" in out  # the settings table


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "not a database URL"),
        ("sqlite:///x.db", "does not support"),
        ("mysql+aiomysql://u@h/db", "does not support"),
        ("postgresql+asyncpg://u:secret@127.0.0.1:1/db", "cannot use the database"),
    ],
)
def test_bad_database_url_is_one_line(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run(capsys, "db", "upgrade")
    assert (code, out) == (1, "")
    line = one_line_error(err)
    assert message in line
    assert "secret" not in line  # passwords never printed


def test_bad_setting_is_one_line(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGRAPH_TOKEN_TTL_HOURS", "soon")
    code, _, err = run(capsys, "db", "current")
    assert code == 1
    assert "ORDERGRAPH_TOKEN_TTL_HOURS" in one_line_error(err)


# ---- demo and serve (the server itself is not started here) -------------------------------------


def test_demo_loads_once_and_prints_logins(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--orders", "12", "--seed", "5")  # migrates on its own
    assert code == 0
    assert f"password for all: {DEMO_PASSWORD}" in out
    for login in DEMO_LOGINS:
        assert login.email in out
    status_lines = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()[:1].isupper()}
    assert all(status_lines.get(s.value) == "1" for s in OrderStatus), out

    code, out, err = run(capsys, "demo", "--orders", "12")
    assert (code, out) == (1, "")
    assert "already has data" in one_line_error(err)


def test_serve_migrates_and_runs_uvicorn_with_the_factory(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))

    code, out, _ = run(capsys, "serve", "--host", "0.0.0.0", "--port", "8123")
    assert code == 0
    assert db_file.exists()
    assert "GraphiQL: http://localhost:8123/graphql" in out
    ((args, kwargs),) = calls
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"]) == ("0.0.0.0", 8123)
    assert kwargs["ws_per_message_deflate"] is False
    # the application uvicorn builds links to the address it serves (no ORDERGRAPH_PUBLIC_URL set)
    (factory,) = args
    links = factory().state.runtime.notifier.config.links
    assert links.public_url == "http://localhost:8123"

    # --demo on a database with someone else's data: not loaded, and said so
    create_org(capsys, "PARTNER", "P")
    code, out, _ = run(capsys, "serve", "--demo")
    assert code == 0
    assert "demo was not loaded" in out
    assert calls[-1][1]["port"] == 8000  # the settings' default when no flag is given


def test_served_links_follow_the_public_url_when_it_is_set(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(a))
    monkeypatch.setenv("ORDERGRAPH_PUBLIC_URL", "https://orders.example/")
    assert run(capsys, "serve", "--port", "8124")[0] == 0
    ((factory,),) = calls
    assert factory().state.runtime.notifier.config.links.public_url == "https://orders.example"


def test_serve_demo_on_a_demo_database_prints_the_logins(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    assert run(capsys, "demo", "--orders", "0")[0] == 0
    code, out, _ = run(capsys, "serve", "--demo", "--no-migrate")
    assert code == 0
    assert "already loaded" in out
    assert DEMO_LOGINS[0].email in out


# ---- the installed console script -----------------------------------------------------------------


def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "ordergraph"
    assert script.exists(), "the project is not installed in this environment (uv sync)"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'og.db'}"}

    done = subprocess.run([script, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "og.db").exists()

    env["DATABASE_URL"] = "nonsense"
    done = subprocess.run([script, "db", "current"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("ordergraph: error: DATABASE_URL")


SERVED_GC = """
import asyncio, gc
from ordergraph.app import FULL_COLLECTION_EVERY, serve_app

async def main() -> None:
    app = serve_app()
    before = gc.get_threshold()
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count() > 0, before[2], gc.get_threshold()[2] == FULL_COLLECTION_EVERY)

asyncio.run(main())
"""


def test_the_served_application_freezes_its_start_up_heap_and_collects_fully_less_often(tmp_path: Path) -> None:
    # A process of its own: the test process's collector stays as it is.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_")},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'og.db'}",
        "ORDERGRAPH_FILES_DIR": str(tmp_path / "files"),
    }
    upgraded = subprocess.run(
        [sys.executable, "-m", "ordergraph.cli", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    served = subprocess.run([sys.executable, "-c", SERVED_GC], env=env, capture_output=True, text=True, timeout=120)
    assert served.returncode == 0, served.stderr
    assert served.stdout.split() == ["True", "10", "True"]  # frozen; CPython's 10 raised for serving


# ---- start-up cost -------------------------------------------------------------------------------

LEAN_PARSER = """
import sys
from ordergraph import cli
cli.build_parser().format_help()
heavy = ("ordergraph.app", "alembic", "strawberry", "sqlalchemy.ext.asyncio", "uvicorn", "graphql", "dramatiq")
print(" ".join(sorted(name for name in sys.modules if name in heavy or name.startswith(tuple(h + "." for h in heavy)))))
"""


def test_building_the_parser_imports_neither_the_app_nor_its_frameworks() -> None:
    # `ordergraph --help` answers without loading what only a command needs (seconds without bytecode)
    done = subprocess.run([sys.executable, "-c", LEAN_PARSER], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], done.stdout


def test_help_of_every_subcommand_is_answered(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--help"],
        *([name, "--help"] for name in ("serve", "worker", "db", "create-organisation", "outside-recipients")),
    ):
        assert cli.main(argv) == 0
        assert "usage: ordergraph" in capsys.readouterr().out
    for argv in (["create-user", "--help"], ["demo", "--help"], ["db", "upgrade", "--help"], ["db", "current", "-h"]):
        assert cli.main(argv) == 0
        assert "usage: ordergraph" in capsys.readouterr().out

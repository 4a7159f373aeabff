"""`ordergraph worker` as a process: it delivers what the outbox holds and stops cleanly on SIGTERM."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters import migrations as migrate
from adapters.security import Argon2PasswordHasher
from adapters.settings import Settings
from domain.identity.model import Actor
from domain.orders.commands import CreateOrder, OrderCommand
from domain.orders.lifecycle import OrderKind
from domain.orders.services.orders import approve_order, create_order, submit_order
from ordergraph.app import build_runtime
from ordergraph.cli import main
from tests.api.world import World, build_world


def act(world: World, key: str) -> Actor:
    member = world[key]
    return Actor(member.user.id, member.org.id, member.org.kind, member.user.role, member.org.programme_id)


def test_the_worker_refuses_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    from adapters.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["worker"]) == 1
    finally:
        get_settings.cache_clear()
    assert "not migrated" in capsys.readouterr().err


async def test_the_worker_process_sends_what_the_outbox_holds_and_stops_on_sigterm(tmp_path: Path) -> None:
    # given a database with an approved order whose emails nobody has sent yet
    url = f"sqlite+aiosqlite:///{tmp_path / 'og.db'}"
    env = {
        "DATABASE_URL": url,
        "ORDERGRAPH_FILES_DIR": str(tmp_path / "files"),
        "ORDERGRAPH_MAIL_DIR": str(tmp_path / "mail"),
        "ORDERGRAPH_SECRET_KEY": "k",
    }
    await migrate.upgrade_async(url)
    runtime = build_runtime(Settings.from_env(env))
    ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    world = await build_world(ports)
    order = await create_order(
        ports, act(world, "partner"), CreateOrder(OrderKind.FLAT_FEE, "W", service_id=world.services["webinar"].id)
    )
    await submit_order(ports, act(world, "partner"), OrderCommand(order.id))
    await approve_order(ports, act(world, "vendor"), OrderCommand(order.id))
    await runtime.engine.dispose()
    # when `ordergraph worker` runs (in-process broker: no ORDERGRAPH_BROKER_URL)
    process = subprocess.Popen(  # noqa: ASYNC220 - a child process the test drives by hand
        [sys.executable, "-m", "ordergraph.cli", "worker", "--threads", "2"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list((tmp_path / "mail").glob("*.eml"))) < 3:
            time.sleep(0.1)  # noqa: ASYNC251 - the work happens in the child process
        # then it sent every email, and stops cleanly when asked to
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 3
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "ordergraph worker" in out

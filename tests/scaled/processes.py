"""The project's own commands as child processes of a test: `ordergraph serve` and `ordergraph worker`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_client import GraphQLHttp
from tests.scaled.services import free_port

REPO = Path(__file__).resolve().parents[2]


class Proc:
    """A child process of the test, its output in a log file; stopped (SIGTERM, then SIGKILL) by `stop`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_offset = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        """What the process printed since it was last started."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, at once (the crash under test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM; SIGKILL if it has not exited after `grace` seconds. Its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a child process
                await asyncio.sleep(0.05)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Api(Proc):
    """`ordergraph serve --no-migrate` on a port of its own."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "ordergraph.cli", "serve", "--no-migrate", "--host", "127.0.0.1"]
        super().__init__(name, [*argv, "--port", str(self.port)], env, logs)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self.gql = GraphQLHttp(self.url)

    async def ready(self, within: float = 60.0) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=1.0) as http:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                assert self.alive, f"{self.name} exited:\n{self.tail()}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer /healthz within {within} s:\n{self.tail()}")

    async def live_updates(self) -> str:
        """What /healthz says of live updates: "ok" or "interrupted"."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            health = (await http.get("/healthz")).json()
        state: str = health["liveUpdates"]
        return state


class Worker(Proc):
    """`ordergraph worker`: the Dramatiq worker on ORDERGRAPH_BROKER_URL, plus the relay and the sweeper."""

    def __init__(self, name: str, env: dict[str, str], logs: Path, threads: int = 4) -> None:
        argv = [sys.executable, "-m", "ordergraph.cli", "worker", "--threads", str(threads)]
        super().__init__(name, argv, env, logs)

    async def ready(self, within: float = 60.0) -> None:
        """Until it has said it runs (after its database check; the Dramatiq worker starts right after)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.alive, f"{self.name} exited:\n{self.tail()}"
            if "ordergraph worker:" in self.output():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not start within {within} s:\n{self.tail()}")

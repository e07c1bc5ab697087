"""The `youth` command, run as an operator would run it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import IS_POSTGRES, ROOT, unique


def youth(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, env=dict(os.environ), check=False, timeout=120)


async def test_create_staff_then_login_with_that_password_only(client_at):
    username = unique("ops")
    res = youth("create-staff", "--username", username, "--password-stdin", "--role", "admin",
                stdin="correct-horse-battery\n")
    assert res.returncode == 0, res.stderr
    assert "correct-horse-battery" not in res.stdout + res.stderr
    ok = await client_at().post("/api/v1/auth/login", json={"username": username, "password": "correct-horse-battery"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["role"] == "admin"
    bad = await client_at().post("/api/v1/auth/login", json={"username": username, "password": "wrong-horse-battery"})
    assert bad.status_code == 401


def test_create_staff_refuses_duplicates_and_short_passwords():
    username = unique("ops")
    assert youth("create-staff", "--username", username, "--password-stdin", stdin="long-enough-pw\n").returncode == 0
    dup = youth("create-staff", "--username", username, "--password-stdin", stdin="long-enough-pw\n")
    assert dup.returncode == 1 and "USERNAME_TAKEN" in dup.stderr
    short = youth("create-staff", "--username", unique("ops"), "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "VALIDATION_ERROR" in short.stderr


def test_every_command_logs_through_the_servers_set_up():
    res = subprocess.run(
        [sys.executable, "-c", (
            "import logging, sys\n"
            "from typer.testing import CliRunner\n"
            "from app.cli import app\n"
            "from app.context import _NO_RESULT_ROWS\n"
            "CliRunner().invoke(app, ['deliver-notifications', '--help'])\n"
            "engine = logging.getLogger('sqlalchemy.engine.Engine')\n"
            "sys.exit(0 if _NO_RESULT_ROWS in engine.filters and logging.getLogger('aiosqlite').level == logging.INFO"
            " else 3)\n")],
        cwd=ROOT, capture_output=True, text=True, env=dict(os.environ), check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    assert youth("--help").returncode == 0


# --- `youth serve --with-workers` (what `make run` starts) ---------------------------------------------


class Running:
    """`youth serve --demo --with-workers` on a database of its own, its output collected line by line."""

    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, YOUTH_DATABASE_URL=url, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--demo", "--with-workers"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self._reader.start()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, what: str, check, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no {what}:\n{self.text}")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", self.text)}

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.pids().values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _unpadded(text: str) -> str:
    """The supervisor's output without the padding that lines its names up."""
    return re.sub(r"(?m)^(\w+) +\| ", r"\1 | ", text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def own_db() -> Iterator[str]:
    path = ROOT / "var" / f"serve-{uuid.uuid4().hex[:8]}.db"
    yield f"sqlite+aiosqlite:///{path}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _rows(url: str, stmt):
    from app.config import get_settings
    from app.db import make_engine

    engine = make_engine(get_settings(), url)
    try:
        async with engine.begin() as conn:
            return (await conn.execute(stmt)).all()
    finally:
        await engine.dispose()


async def _pending_notification(url: str) -> int:
    from sqlalchemy import insert, select

    from models.accounts import User
    from models.base import utcnow
    from models.notifications import Notification

    (user_id,), *_ = await _rows(url, select(User.id).order_by(User.id).limit(1))
    (note_id,), = await _rows(url, insert(Notification).values(
        user_id=user_id, kind="test.supervisor", title="测试", body="测试", created_at=utcnow(),
        next_attempt_at=utcnow()).returning(Notification.id))
    return note_id


async def _delivery_status(url: str, note_id: int) -> str:
    from sqlalchemy import select

    from models.notifications import Notification

    (status,), = await _rows(url, select(Notification.delivery_status).where(Notification.id == note_id))
    return status


async def _eventually(get, ok, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not ok(value := await get()) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    return value


@pytest.mark.skipif(IS_POSTGRES, reason="runs on a SQLite file of its own: once, in the SQLite pass")
async def test_serve_with_workers_migrates_seeds_and_runs_a_sweep_and_a_delivery_pass(own_db):
    from sqlalchemy import select

    from app.kit import sweeper
    from app.services import load_all
    from models.platform import SweepState

    load_all()
    run = Running(own_db)
    try:
        # In stages, each with its own time: on a loaded machine migrating and seeding alone can take most
        # of a single allowance, and the API then starts after it.
        run.wait_for("demo data", lambda: "demo data loaded" in run.text)
        run.wait_for("answer on /healthz", run.healthy)
        assert set(run.pids()) == {"api", "deliver", "sweep"}
        assert "demo data loaded" in run.text
        jobs = ", ".join(sorted(sweeper.JOBS))
        run.wait_for("sweeper loop", lambda: f"youth.sweeper: sweeper started: {jobs}\n" in run.text)

        async def swept() -> set[str]:
            return {job for (job,) in await _rows(own_db, select(SweepState.job))}

        assert await _eventually(swept, lambda done: done == set(sweeper.JOBS)) == set(sweeper.JOBS), run.text

        note_id = await _pending_notification(own_db)
        status = await _eventually(lambda: _delivery_status(own_db, note_id), lambda s: s != "pending")
        assert status != "pending", run.text

        # Ctrl-C reaches the supervisor; it stops each child, and the workers finish cleanly.
        pids = run.pids()
        run.proc.send_signal(signal.SIGINT)
        assert run.finish() == 0, run.text
        for name in ("api", "deliver", "sweep"):
            assert f"serve | {name} stopped\n" in _unpadded(run.text), run.text
        assert re.search(r"(?m)^sweep \| .*youth\.sweeper: sweeper stopped$", _unpadded(run.text)), run.text
        assert not [name for name, pid in pids.items() if _alive(pid)]
    finally:
        run.kill()


def test_one_child_stopping_on_its_own_stops_the_others_and_says_so():
    from app.supervisor import Child, Supervisor

    def python(name: str, code: str) -> Child:
        return Child(name, [sys.executable, "-c", code], f"{name} stand-in")

    out = io.StringIO()
    kids = [python("api", "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); time.sleep(120)"),
            python("sweep", "import time; time.sleep(0.5); exit(3)")]
    assert Supervisor(kids, out=out).run() == 3
    shown = _unpadded(out.getvalue())
    assert "serve | sweep (sweep stand-in) stopped on its own with exit code 3: stopping the others" in shown
    assert "serve | api stopped\n" in shown
    assert all(k.proc is not None and k.proc.returncode is not None for k in kids)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period():
    from app.supervisor import Child, Supervisor

    stubborn = Child("deliver", [sys.executable, "-c", (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True);"
        " time.sleep(120)")], "stubborn")
    crash = Child("sweep", [sys.executable, "-c", "import time; time.sleep(1); exit(1)"], "crash")
    out = io.StringIO()
    assert Supervisor([stubborn, crash], out=out, grace=0.5).run() == 1
    assert "serve | deliver did not stop within 0.5 s: killed" in _unpadded(out.getvalue())
    assert stubborn.proc is not None and stubborn.proc.returncode == -signal.SIGKILL


def _prod_env(**over: str) -> dict[str, str]:
    import base64
    import secrets

    env = dict(os.environ, YOUTH_ENV="prod", YOUTH_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none",
               YOUTH_JWT_SECRET=secrets.token_urlsafe(48), YOUTH_FIELD_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
               YOUTH_WECHAT_APPID="wx1234567890abcdef", YOUTH_WECHAT_SECRET=secrets.token_hex(16),
               YOUTH_WECHAT_BASE_URL="https://api.weixin.qq.com")
    env.update(over)
    return env


def prod(*args: str, **over: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=_prod_env(**over), check=False, timeout=120)


def test_demo_data_is_never_loaded_in_prod():
    """`YOUTH_ENV=prod youth seed-demo` loaded the demo admin with its published password."""
    for args in (("seed-demo",), ("serve", "--demo", "--no-migrate")):
        res = prod(*args)
        assert res.returncode == 2 and "never loaded in prod" in res.stderr, (args, res.stderr)


def test_every_command_runs_the_servers_start_up_checks():
    res = prod("migrate", YOUTH_JWT_SECRET="dev-only-jwt-secret-change-me-0123456789abcdef")
    assert res.returncode == 2 and "YOUTH_JWT_SECRET" in res.stderr
    res = prod("create-staff", "--username", "x", "--password-stdin", YOUTH_WECHAT_BASE_URL="")
    assert res.returncode == 2 and "YOUTH_WECHAT_BASE_URL" in res.stderr


def test_low_entropy_secrets_are_refused_in_prod():
    """A repeated word of 32 characters passed as a JWT secret."""
    import base64

    from app.config import Settings, estimated_bits

    # One command end to end, weak then strong (test_every_command_runs_the_servers_start_up_checks shows
    # that every command runs the check); the check itself on each weak value below, without a process each.
    res = prod("sweep", "--list", YOUTH_JWT_SECRET="password" * 4)
    assert res.returncode == 2 and "YOUTH_JWT_SECRET" in res.stderr
    assert prod("sweep", "--list").returncode == 0
    assert estimated_bits("password" * 4) == 0 and estimated_bits(os.urandom(32)) > 128
    typed_key = base64.b64encode(b"my-own-field-key-of-32-bytes-ok!").decode()
    with pytest.MonkeyPatch.context() as mp:  # the server's lifespan runs the same check
        for key, value in _prod_env().items():
            if key.startswith("YOUTH_"):
                mp.setenv(key, value)
        Settings().check_production_ready()
        for weak in ("password" * 4, "ab" * 24, "0123456789" * 4 + "x"):
            mp.setenv("YOUTH_JWT_SECRET", weak)
            with pytest.raises(RuntimeError, match="YOUTH_JWT_SECRET"):
                Settings().check_production_ready()
        mp.setenv("YOUTH_JWT_SECRET", _prod_env()["YOUTH_JWT_SECRET"])
        mp.setenv("YOUTH_FIELD_KEY", typed_key)
        with pytest.raises(RuntimeError, match="YOUTH_FIELD_KEY"):
            Settings().check_production_ready()

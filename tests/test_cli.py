"""The `youth` command, run as an operator would run it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, unique


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

"""`youth serve --with-workers` (what `make run` starts): the API, the notification delivery worker and
the sweeper as three child processes of one command, for development.

They are the same three commands production runs apart (README, "Running on PostgreSQL and in
production"), so a newcomer's machine exercises the same separate processes, engines and claims as
production does, rather than an in-process variant of them. Each child's output is shown with its
name in front. Ctrl-C (or SIGTERM) stops all three: each gets SIGTERM and finishes what it is doing
(uvicorn its requests, the workers their batch), and is killed after ``GRACE_SECONDS``. One that stops
on its own is a crash: it is reported with its exit code and the others are stopped, so it cannot go
unnoticed behind a still-running API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

GRACE_SECONDS = 10.0


@dataclass
class Child:
    name: str
    argv: list[str]
    shown: str  # the command as a person would type it
    clean_exits: tuple[int, ...] = (0,)
    proc: subprocess.Popen[str] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


def youth(name: str, *args: str, clean_exits: tuple[int, ...] = (0,)) -> Child:
    return Child(name, [sys.executable, "-m", "app.cli", *args], "youth " + " ".join(args), clean_exits)


def children(*, host: str, port: int, workers: int) -> list[Child]:
    return [
        # uvicorn ends its graceful stop by re-raising the SIGTERM it handled.
        youth("api", "serve", "--host", host, "--port", str(port), "--workers", str(workers), "--no-migrate",
              clean_exits=(0, -signal.SIGTERM)),
        youth("deliver", "deliver-notifications", "--loop"),
        youth("sweep", "sweep", "--loop"),
    ]


def _death_signal() -> Callable[[], None] | None:
    # Children run in their own process group (so that Ctrl-C reaches only us, and we stop them in
    # order); should we be killed outright, Linux still ends them instead of leaving them running.
    # Looked up before forking: the child only makes the call.
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, kids: Sequence[Child], *, out: IO[str] | None = None, grace: float = GRACE_SECONDS):
        self.kids = list(kids)
        self.out = out or sys.stdout
        self.grace = grace
        self._lock = threading.Lock()
        self._stop_requested = False
        self._width = max(len(k.name) for k in self.kids)

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<{self._width}} | {line}\n")
            self.out.flush()

    def _pump(self, kid: Child) -> None:
        assert kid.proc is not None and kid.proc.stdout is not None
        for line in kid.proc.stdout:
            self.say(kid.name, line.rstrip("\n"))

    def _start_all(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        on_fork = _death_signal()
        # Every fork before the first output thread starts: a child forked beside a running thread
        # could inherit a lock that thread held.
        for kid in self.kids:
            kid.proc = subprocess.Popen(  # noqa: S603  (our own interpreter and commands)
                kid.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, text=True, bufsize=1, env=env, start_new_session=True,
                preexec_fn=on_fork,
            )
        for kid in self.kids:
            assert kid.proc is not None
            self.say("serve", f"started {kid.name} (pid {kid.proc.pid}): {kid.shown}")
            kid.reader = threading.Thread(target=self._pump, args=(kid,), name=f"out-{kid.name}", daemon=True)
            kid.reader.start()

    def _request_stop(self, signum: int, _frame: object) -> None:
        self._stop_requested = True

    def run(self) -> int:
        """Start every child, wait until one stops or we are told to stop; returns the exit code."""
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            self._start_all()
            self.say("serve", "all running; Ctrl-C stops all of them")
            while not self._stop_requested:
                crashed = next((k for k in self.kids if k.proc is not None and k.proc.poll() is not None), None)
                if crashed is not None:
                    assert crashed.proc is not None
                    rc = crashed.proc.returncode
                    self.say("serve", f"{crashed.name} ({crashed.shown}) stopped on its own with exit code {rc}: "
                                      "stopping the others")
                    code = rc if rc > 0 else 1
                    break
                time.sleep(0.2)
            else:
                self.say("serve", "stopping")
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _stop_all(self) -> None:
        running = [k for k in self.kids if k.proc is not None and k.proc.poll() is None]
        for kid in running:
            assert kid.proc is not None
            kid.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for kid in running:
            assert kid.proc is not None
            try:
                rc = kid.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("serve", f"{kid.name} did not stop within {self.grace:g} s: killed")
                kid.proc.kill()
                rc = kid.proc.wait()
            self.say("serve", f"{kid.name} stopped" + ("" if rc in kid.clean_exits else f" (exit code {rc})"))
        for kid in self.kids:
            if kid.reader is not None:
                kid.reader.join(timeout=2)

"""Child processes of the bench: each in its own process group, always stopped on the way out."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child started in a new session, so that stopping it stops its workers too."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # Workers left behind by a killed supervisor share the group: take them down too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(2)
        self._log.close()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc, no psutil needed)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return sorted(out)


_CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU time of a live process; with ``reaped``, plus that of its children that have
    exited and been waited for (a PostgreSQL backend closing, a killed uvicorn worker), whose CPU would
    otherwise vanish from a sum over live processes and make a delta negative."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = int(fields[11]) + int(fields[12])
    return (own + (int(fields[13]) + int(fields[14]) if reaped else 0)) / _CLK


def parent_pid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def machine_busy_seconds() -> float:
    """CPU seconds all processors have spent not idle since boot (/proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already counted in user time
    return (sum(fields[:8]) - idle) / _CLK


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def postgres_pids() -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm == "postgres" or comm.startswith("postgres:"):
                out.append(int(entry.name))
    return out


def connections_to(port: int, pids: list[int]) -> dict[int, int]:
    """How many established TCP connections on local ``port`` each of ``pids`` holds."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                inodes.add(f[9])
    counts = {}
    for pid in pids:
        n = 0
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    n += 1
        except OSError:
            pass
        counts[pid] = n
    return counts


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def uvicorn_workers(master: int) -> list[int]:
    """The worker processes of a uvicorn supervisor (multiprocessing spawn children)."""
    return [p for p in children(master) if "spawn_main" in cmdline(p) and "resource_tracker" not in cmdline(p)]


def http_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def wait_http(url: str, proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited while starting:\n{proc.tail()}")
        try:
            status, _ = http_json("GET", url, timeout=2)
            if status == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready at {url} after {timeout:.0f}s:\n{proc.tail()}")


def run_loadgen(spec: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    """Run the load generator in its own process and return its results."""
    return start_loadgen(spec, work, name).result()


class LoadgenRun:
    def __init__(self, spec: dict[str, Any], work: Path, name: str) -> None:
        fd, spec_path = tempfile.mkstemp(prefix=f"{name}-", suffix=".json", dir=work)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        self.out_path = Path(spec_path).with_suffix(".out.json")
        self.name = name
        self._log = open(work / f"loadgen-{name}.log", "wb")
        self.popen = subprocess.Popen([sys.executable, "-m", "bench.loadgen", spec_path, str(self.out_path)],
                                      cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        # A bound on every run: the spec's duration or request timeout, plus slack.
        self._limit = float(spec.get("duration") or 0) + float(spec.get("timeout", 10)) * 3 + 120
        _RUNNING.add(self)

    def result(self) -> dict[str, Any]:
        try:
            code = self.popen.wait(self._limit)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"load generator {self.name} did not finish in {self._limit:.0f}s")
        finally:
            _RUNNING.discard(self)
            self._log.close()
        if code != 0:
            log = (self.out_path.parent / f"loadgen-{self.name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"load generator {self.name} failed ({code}):\n{log}")
        with open(self.out_path, encoding="utf-8") as f:
            return json.load(f)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(2)


_RUNNING: set[LoadgenRun] = set()


def start_loadgen(spec: dict[str, Any], work: Path, name: str) -> LoadgenRun:
    return LoadgenRun(spec, work, name)


def kill_loadgens() -> None:
    for run in list(_RUNNING):
        run.kill()
    _RUNNING.clear()


def postgres_processes() -> dict[int, str]:
    """Every PostgreSQL process of the local cluster with its process title (which names the database
    of a client backend: ``postgres: 15/main: user dbname 127.0.0.1(port) idle``)."""
    out = {}
    for pid in postgres_pids():
        out[pid] = cmdline(pid)
    return out


def pid_of(comm: str) -> int | None:
    """The first process whose command name is ``comm`` (e.g. ``redis-server``)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == comm:
                    return int(entry.name)
            except OSError:
                continue
    return None

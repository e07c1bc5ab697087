"""The ``youth`` command: serve, migrate, create-staff, seed-demo, sweep, deliver-notifications, verify-lottery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

import typer

app = typer.Typer(help="Spring City Youth (春城青年) backend", no_args_is_help=True, add_completion=False)
ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("youth.worker")


@app.callback()
def _start_up() -> None:
    # Every command checks what the server checks at start-up (no development secrets, SQLite or
    # stand-in in production) and logs as the server does: JSON in production, and personal data kept
    # out of SQLAlchemy's and aiosqlite's debug lines (long-running workers such as deliver-notifications).
    from app.config import get_settings
    from app.context import configure_logging

    settings = get_settings()
    try:
        settings.check_production_ready()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    configure_logging(settings.json_logs)


def _refuse_demo_in_prod() -> None:
    from app.config import get_settings

    if get_settings().env == "prod":
        # The demo accounts' password is published in the README.
        typer.echo("error: demo data is never loaded in prod (its staff password is public)", err=True)
        raise typer.Exit(2)


def _alembic(*args: str) -> None:
    from alembic import command
    from alembic.config import Config

    # The working directory's alembic.ini wins (the Docker image installs the package non-editable).
    ini = Path.cwd() / "alembic.ini"
    cfg = Config(str(ini if ini.exists() else ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = True
    getattr(command, args[0])(cfg, *args[1:])


def _ensure_var_dir() -> None:
    from app.config import get_settings

    url = get_settings().database_url
    if url.startswith("sqlite") and ":///" in url:
        path = Path(url.split(":///", 1)[1])
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)


@app.command()
def migrate(revision: str = typer.Argument("heads", help="Target revision")) -> None:
    """Apply database migrations (the only way the schema is made)."""
    _ensure_var_dir()
    _alembic("upgrade", revision)


@app.command("seed-demo")
def seed_demo(if_empty: bool = typer.Option(True, help="Only when the database has no users yet")) -> None:
    """Load the demo data set (never in prod)."""
    _refuse_demo_in_prod()
    from app.db import dispose_engine, session_scope
    from app.demo import is_empty
    from app.demo import seed_demo as run

    async def go() -> None:
        async with session_scope() as session:
            if if_empty and not await is_empty(session):
                typer.echo("database not empty: demo data not loaded")
                return
            await run(session)
            typer.echo("demo data loaded (staff: admin / moderator, password demo-password-2026)")
        await dispose_engine()

    asyncio.run(go())


@app.command("create-staff")
def create_staff(
    username: str = typer.Option(..., "--username"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input"),
    role: str = typer.Option("moderator", "--role", help="moderator or admin"),
) -> None:
    """Create a league staff account."""
    from app import errors
    from app.db import dispose_engine, session_scope
    from app.services import auth

    if not password_stdin:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")

    async def go() -> int:
        try:
            async with session_scope() as session:
                user = await auth.create_staff(session, username=username, password=password, role=role)
            typer.echo(f"created {role} {username} (id {user.id})")
            return 0
        except errors.AppError as exc:
            typer.echo(f"error: {exc.code}: {exc.detail_message} {exc.fields or ''}", err=True)
            return 1
        finally:
            await dispose_engine()

    raise typer.Exit(asyncio.run(go()))


@app.command()
def serve(
    host: str = typer.Option(os.environ.get("HOST", "127.0.0.1"), "--host"),
    port: int = typer.Option(int(os.environ.get("PORT", "8000")), "--port"),
    workers: int = typer.Option(1, "--workers"),
    migrate_first: bool = typer.Option(True, "--migrate/--no-migrate"),
    demo: bool = typer.Option(False, "--demo", help="Load demo data when the database is empty"),
    with_workers: bool = typer.Option(
        False, "--with-workers",
        help="Also run the notification worker and the sweeper, as child processes (development: `make run`)"),
) -> None:
    """Serve the API with uvicorn (timeouts and limits from the YOUTH_SERVER_* settings)."""
    import uvicorn

    from app.config import get_settings
    from app.server import uvicorn_options

    if demo:
        _refuse_demo_in_prod()
    if migrate_first:
        migrate("heads")
    if demo:
        seed_demo(if_empty=True)
    if with_workers:
        from app import supervisor

        raise typer.Exit(supervisor.Supervisor(supervisor.children(host=host, port=port, workers=workers)).run())
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts its own requests: a shared, fresh folder lets a scrape of any one add them up.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="youth-metrics-")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                **uvicorn_options(get_settings()))


@app.command()
def sweep(
    loop: bool = typer.Option(False, "--loop", help="Keep running every job at its own interval"),
    job: list[str] = typer.Option(None, "--job", help="Run only these jobs (repeatable)"),
    list_jobs: bool = typer.Option(False, "--list", help="List the registered jobs and exit"),
) -> None:
    """Run the due work (no-shows, lapsed offers, deadlines, reminders): once, or --loop as a worker."""
    from app.db import dispose_engine
    from app.kit import sweeper
    from app.services import load_all

    load_all()
    if list_jobs:
        for j in sorted(sweeper.JOBS.values(), key=lambda j: j.name):
            typer.echo(f"{j.name}\tevery {j.every_seconds:g} s\t{j.description}")
        return
    unknown = sorted(set(job or ()) - set(sweeper.JOBS))
    if unknown:
        typer.echo(f"error: unknown job(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(2)

    async def go() -> int:
        try:
            if loop:
                await sweeper.run_loop(stop=_stop_event())
                return 0
            try:
                done = await sweeper.sweep(job or None)
            except sweeper.SweepFailed as exc:
                typer.echo(f"error: {exc}", err=True)
                return 1
            typer.echo(" ".join(f"{k}={v}" for k, v in sorted(done.items())) or "no jobs registered")
            return 0
        finally:
            await dispose_engine()

    raise typer.Exit(asyncio.run(go()))


def _stop_event() -> asyncio.Event:
    """Set by the first SIGTERM or Ctrl-C: a worker finishes the batch in hand and exits (a deploy or
    `make run` stopping it does not cut a send short); a second signal acts as it always does."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first() -> None:
        stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    with contextlib.suppress(NotImplementedError):  # no loop signal handlers on Windows
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, first)
    return stop


def _register_service_commands() -> None:
    from app import cli_housing

    app.command("verify-lottery")(cli_housing.verify_lottery)


_register_service_commands()


def main() -> None:
    app()



@app.command("deliver-notifications")
def deliver_notifications(
    loop: bool = typer.Option(False, "--loop", help="Keep delivering every --interval seconds"),
    interval: float = typer.Option(5.0, "--interval"),
) -> None:
    """Send due WeChat subscribe messages from the notification outbox (run as a worker in production)."""
    from app.context import run_id
    from app.db import dispose_engine
    from app.services import load_all
    from app.services.notifications import deliver_due
    from app.wechat import close_wechat_client

    load_all()  # every service's kinds: a message is built from its kind in the catalogue

    async def go() -> None:
        stop = _stop_event() if loop else asyncio.Event()
        if loop:
            typer.echo(f"delivering due notifications every {interval:g} s")
        try:
            while True:
                with run_id("deliver"):
                    outcomes = await deliver_due()
                    if outcomes:
                        log.info("delivered: %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
                if not loop:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                if stop.is_set():
                    return
        finally:
            await close_wechat_client()
            await dispose_engine()

    asyncio.run(go())


if __name__ == "__main__":
    main()

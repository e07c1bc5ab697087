"""Housing commands of the ``youth`` CLI. Wired in app/cli.py with:

    from app import cli_housing
    app.command("verify-lottery")(cli_housing.verify_lottery)

``verify-lottery`` recomputes a published lottery from its frozen list and seed: from the database
(``--project-id``), from a saved copy of ``GET /api/v1/housing/projects/{id}/lottery`` (``--file``, ``-``
for standard input) or straight from a running server (``--url``). Exit status 0: valid; 1: the
published data do not verify; 2: it could not be read.

Offers not accepted in time are passed on by the sweeper (``youth sweep``, job ``housing.expire_offers``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def _load(project_id: int | None, file: Path | None, url: str | None) -> dict[str, Any]:
    if sum(x is not None for x in (project_id, file, url)) != 1:
        typer.echo("error: give exactly one of --project-id, --file or --url", err=True)
        raise typer.Exit(2)
    try:
        if file is not None:
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
            return json.loads(text)
        if url is not None:
            import httpx

            r = httpx.get(url, timeout=10, follow_redirects=True)
            r.raise_for_status()
            return r.json()
    except (OSError, ValueError, ImportError) as exc:  # httpx errors derive from these or RuntimeError
        typer.echo(f"error: cannot read the lottery: {exc}", err=True)
        raise typer.Exit(2)
    except Exception as exc:
        typer.echo(f"error: cannot fetch the lottery: {exc}", err=True)
        raise typer.Exit(2)
    return _from_database(project_id)


def _from_database(project_id: int) -> dict[str, Any]:
    from app import errors
    from app.db import dispose_engine, session_scope
    from app.services import housing

    async def go() -> dict[str, Any]:
        try:
            async with session_scope() as session:
                lot = await housing.lottery_for_verification(session, project_id=project_id)
            return lot.model_dump(mode="json")
        finally:
            await dispose_engine()

    try:
        return asyncio.run(go())
    except errors.AppError as exc:
        typer.echo(f"error: {exc.code}: {exc.detail_message}", err=True)
        raise typer.Exit(2)


def verify_lottery(
    project_id: Annotated[int | None, typer.Option("--project-id", help="Read the lottery from the database")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Saved JSON of GET …/lottery ('-': stdin)")] = None,
    url: Annotated[str | None, typer.Option("--url", help="URL of GET /api/v1/housing/projects/{id}/lottery")] = None,
) -> None:
    """Recompute a housing lottery's list hash and draw order from the published data."""
    from app.services.housing import lottery_order
    from app.services.housing import verify_lottery as check

    data = _load(project_id, file, url)
    if not isinstance(data, dict) or "entries" not in data or "list_sha256" not in data:
        typer.echo("error: this is not a published lottery (entries and list_sha256 are missing)", err=True)
        raise typer.Exit(2)
    problems = check(data)
    entries = data.get("entries") or []
    typer.echo(f"project {data.get('project_id')}: {len(entries)} entries, list SHA-256 {data['list_sha256']}")
    if data.get("seed") is not None:
        typer.echo(f"seed: {data['seed']!r} ({data.get('seed_source') or 'source not given'})")
    if data.get("order"):
        recomputed = lottery_order(data["seed"], entries) if data.get("seed") else []
        typer.echo(f"round {data.get('round')}, order (first 10 of {len(recomputed)}): {', '.join(recomputed[:10])}")
        for u in data.get("unit_types") or []:
            typer.echo(f"unit type {u.get('unit_type_id')} ({u.get('layout_label') or u.get('layout')}): "
                       f"{u.get('available_units')} available, {u.get('entries')} entries")
    else:
        typer.echo("not drawn yet: only the frozen list was checked")
    if problems:
        for p in problems:
            typer.echo(f"FAIL: {p}", err=True)
        raise typer.Exit(1)
    typer.echo("OK: the list hash and the draw order match the published data")


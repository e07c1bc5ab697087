"""Scenarios of the services (events, counselling, housing) and the worker kill in a rush."""

from __future__ import annotations

from bench.common import Bench


async def flash_signup(b: Bench) -> None:
    b.check("1. flash sign-up", "scenario available", None, "events service not built yet")


async def counselling_rush(b: Bench) -> None:
    b.check("2. counselling rush", "scenario available", None, "counselling service not built yet")


async def housing_search(b: Bench) -> None:
    b.check("3. housing search", "scenario available", None, "housing service not built yet")


async def kill_worker_in_rush(b: Bench) -> None:
    b.check("fault: kill -9 worker", "scenario available", None, "events service not built yet")

"""Business rules, one module or package per service (app/services/<service>)."""

from __future__ import annotations

import importlib

# Every service: importing one registers its posting kinds, errors, settings, rate-limit buckets and
# sweeper jobs. The routers import them too; workers (the sweeper, the notification worker) call load_all.
SERVICES = ("auth", "profile", "identity", "orgs", "moderation", "audit", "notifications", "restrictions", "housing",
            "events", "counselling", "volunteer", "openings", "timeline", "console")


def load_all() -> None:
    for name in SERVICES:
        importlib.import_module(f"app.services.{name}")

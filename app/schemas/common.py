"""Schemas shared across services."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Trimmed, non-empty text; every free-text field of the API uses one of these.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")

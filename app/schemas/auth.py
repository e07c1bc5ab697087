from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from app.schemas.common import StrictModel
from app.schemas.profile import MePublic


class WeChatLoginIn(StrictModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class PasswordLoginIn(StrictModel):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RefreshIn(StrictModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LogoutIn(StrictModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class TokenOut(StrictModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: MePublic


class PasswordChangeIn(StrictModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]

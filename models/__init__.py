"""Every table. Each module of this package is imported here, so SQLModel.metadata (and Alembic)
sees all tables without a list to keep in step."""

import importlib
import pkgutil

from models.accounts import IdentityClaim, LoginThrottle, RefreshToken, User
from models.audit import AuditEntry
from models.moderation import PostingFields, Report
from models.notifications import Notification
from models.orgs import Organisation, OrgMember
from models.platform import IdempotencyRecord, RateCounter, ServiceToken

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "AuditEntry",
    "IdempotencyRecord",
    "IdentityClaim",
    "LoginThrottle",
    "Notification",
    "OrgMember",
    "Organisation",
    "PostingFields",
    "RateCounter",
    "RefreshToken",
    "Report",
    "ServiceToken",
    "User",
]

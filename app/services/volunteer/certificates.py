"""Certificates of service (志愿服务证明, 民政部令第67号 Art. 14–15): issued free on request, in the name
of the organisations that recorded the hours, stating the hours, the service content and the recording
organisation; verifiable by anyone from their code, which shows only what a verifier needs.

Codes: 80 random bits as 16 Crockford base32 characters and one check character (a weighted sum in GF(32), `check_char`), shown
in groups of four. A code whose check character does not match was mistyped; a well-formed code that
was never issued is a forgery (or from elsewhere) — the verifier is told which. Input is read the
Crockford way (case and hyphens ignored, I and L read as 1, O as 0).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import ratelimit
from app.kit.pagination import Key, Page, keyset
from app.kit.time import day_span, local_day
from app.schemas.volunteer import (
    CATEGORY_LABELS,
    CertificateIn,
    CertificateOrg,
    CertificateProject,
    CertificatePublic,
    CertificateVerification,
    StaffCertificate,
)
from app.services import audit
from app.services.notifications.catalogue import notify
from app.services.volunteer import errors as verr
from app.services.volunteer.common import CERTIFICATE_REVOKED, NO_SYNC, P, S, hours_of, shift_place
from app.services.volunteer.settings import settings
from models.accounts import User
from models.orgs import Organisation
from models.volunteer import (
    VolunteerCertificate,
    VolunteerCertificateHours,
    VolunteerHours,
    VolunteerProject,
    VolunteerShift,
)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_READ_AS = {"I": "1", "L": "1", "O": "0"}
PAYLOAD_CHARS = 16  # 80 bits
PLATFORM = "春城青年·志愿之城"
C = VolunteerCertificate
H = VolunteerHours

VERIFY_LIMIT = ratelimit.bucket("certificate_verify", "30/60", per="ip", description="证明核验，每个地址")


# --- codes ------------------------------------------------------------------------------------------


def _gf32_mul(a: int, b: int) -> int:
    """Multiplication in GF(32) (the polynomial x^5 + x^2 + 1): the characters are its 32 elements."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= 0b100101
    return product


# Position i of the payload weighs ALPHA^(16 - i); the check character weighs 1. ALPHA = x generates the
# field's 31 non-zero elements, so all 17 weights differ.
_WEIGHTS = []
_w = 1
for _ in range(PAYLOAD_CHARS):
    _w = _gf32_mul(_w, 2)
    _WEIGHTS.append(_w)
_WEIGHTS.reverse()


def check_char(payload: str) -> str:
    """The character that makes the weighted sum of the whole code zero in GF(32). A wrong character
    changes the sum by (its weight × the error), never zero; a swap of two different neighbours by
    (the difference of their weights × the difference of the characters), never zero either. (Luhn
    mod 32, used before, missed every swap of a 0 next to a Z.)"""
    total = 0
    for weight, ch in zip(_WEIGHTS, payload, strict=True):
        total ^= _gf32_mul(weight, _INDEX[ch])
    return ALPHABET[total]


def new_code() -> str:
    payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_CHARS))
    return payload + check_char(payload)


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_code(raw: str) -> str:
    """The canonical code, or CertificateCodeMistyped (wrong length, a character that cannot be in a
    code, or a check character that does not match)."""
    text = "".join(ch for ch in raw.upper() if ch not in "- ")
    text = "".join(_READ_AS.get(ch, ch) for ch in text)
    if len(text) != PAYLOAD_CHARS + 1 or any(ch not in _INDEX for ch in text):
        raise verr.CertificateCodeMistyped(f"证明编号应为{PAYLOAD_CHARS + 1}位字母或数字，请核对后重新输入")
    if check_char(text[:-1]) != text[-1]:
        raise verr.CertificateCodeMistyped()
    return text


def verify_url(code: str) -> str:
    return f"{settings().volunteer_verify_base_url.rstrip('/')}/api/v1/certificates/{display_code(code)}"


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- issuing ------------------------------------------------------------------------------------------


async def issue(session: AsyncSession, *, actor: Principal, data: CertificateIn) -> CertificatePublic:
    person = (await session.execute(select(User.real_name, User.id_number_masked).where(User.id == actor.user_id))
              ).one()
    if not person.real_name or not person.id_number_masked:
        raise verr.CertificateProfileRequired(fields={"real_name": "请填写姓名和身份证号"})
    conds: list[Any] = [H.user_id == actor.user_id, H.status == "confirmed", H.minutes > 0]
    if data.scope == "project":
        conds.append(H.project_id == data.project_id)
    else:
        conds += [H.served_on >= data.date_from, H.served_on <= data.date_to]
    rows = (await session.execute(
        select(VolunteerHours, VolunteerProject, VolunteerShift, Organisation.name)
        .join(VolunteerProject, P.id == H.project_id).join(VolunteerShift, S.id == H.shift_id)
        .join(Organisation, Organisation.id == H.org_id).where(*conds).order_by(H.served_on, H.id))).all()
    if not rows:
        raise verr.NoHoursToCertify()
    now = clock.now()
    content = _content(person.real_name, person.id_number_masked, rows)
    if data.scope == "project":
        period_from, period_to = rows[0][0].served_on, rows[-1][0].served_on
    else:
        period_from, period_to = data.date_from, data.date_to
    cert = VolunteerCertificate(code=new_code(), user_id=actor.user_id, scope=data.scope, period_from=period_from,
                                period_to=period_to, project_id=data.project_id if data.scope == "project" else None,
                                total_minutes=sum(r[0].minutes for r in rows), content=content, issued_at=now)
    session.add(cert)
    await session.flush()
    session.add_all(VolunteerCertificateHours(certificate_id=cert.id, hours_id=r[0].id) for r in rows)
    await session.flush()
    return view(cert)


def _content(name: str, masked: str, rows: Iterable[Any]) -> dict[str, Any]:
    orgs: dict[str, int] = {}
    projects: dict[int, dict[str, Any]] = {}
    for h, project, shift, org_name in rows:
        orgs[org_name] = orgs.get(org_name, 0) + h.minutes
        p = projects.setdefault(project.id, {
            "title": project.title, "category": CATEGORY_LABELS.get(project.category, project.category),
            "organisation": org_name, "minutes": 0, "first_day": h.served_on, "last_day": h.served_on, "places": []})
        p["minutes"] += h.minutes
        p["first_day"], p["last_day"] = min(p["first_day"], h.served_on), max(p["last_day"], h.served_on)
        place = shift_place(shift, project)[0]
        if place not in p["places"]:
            p["places"].append(place)
    return {
        "name": name, "id_number": masked,
        "organisations": [{"name": k, "minutes": v} for k, v in orgs.items()],
        "projects": [dict(p, first_day=p["first_day"].isoformat(), last_day=p["last_day"].isoformat())
                     for p in projects.values()],
    }


def view(cert: VolunteerCertificate) -> CertificatePublic:
    c = cert.content
    return CertificatePublic(
        id=cert.id, code=display_code(cert.code), verify_url=verify_url(cert.code),
        pdf_path=f"/api/v1/me/volunteer-certificates/{cert.id}/pdf", scope=cert.scope, date_from=cert.period_from,
        date_to=cert.period_to, holder_name=c["name"], holder_id_number_masked=c["id_number"],
        total_hours=hours_of(cert.total_minutes),
        organisations=[CertificateOrg(name=o["name"], hours=hours_of(o["minutes"])) for o in c["organisations"]],
        projects=[CertificateProject(title=p["title"], category=p["category"], organisation=p["organisation"],
                                     hours=hours_of(p["minutes"]), first_day=date.fromisoformat(p["first_day"]),
                                     last_day=date.fromisoformat(p["last_day"]), places=p["places"])
                  for p in c["projects"]],
        issued_at=cert.issued_at, status=cert.status, revoked_at=cert.revoked_at, revoked_reason=cert.revoked_reason)


async def _own(session: AsyncSession, actor: Principal, certificate_id: int) -> VolunteerCertificate:
    cert = await session.get(VolunteerCertificate, certificate_id)
    if cert is None or cert.user_id != actor.user_id:
        raise errors.NotFound()
    return cert


async def get_mine(session: AsyncSession, *, actor: Principal, certificate_id: int) -> CertificatePublic:
    return view(await _own(session, actor, certificate_id))


async def list_mine(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                    ) -> Page[CertificatePublic]:
    stmt = select(VolunteerCertificate).where(C.user_id == actor.user_id)
    page = await keyset(session, stmt, [Key("i", C.id, desc=True)], cursor=cursor, limit=limit, tag="my-certs")
    return page.page(lambda r: view(r[0]))


def _day_text(first: str, last: str) -> str:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    fmt = "{0.year}年{0.month}月{0.day}日"
    return fmt.format(a) if a == b else fmt.format(a) + "至" + fmt.format(b)


def pdf_data(cert: VolunteerCertificate) -> dict[str, Any]:
    """What the PDF template prints, all as text."""
    c = cert.content
    if cert.scope == "project":
        scope = f"在「{c['projects'][0]['title']}」项目中"
    else:
        assert cert.period_from is not None and cert.period_to is not None
        scope = f"于{_day_text(cert.period_from.isoformat(), cert.period_to.isoformat())}期间"
    issued = local_day(cert.issued_at)
    return {
        "code": display_code(cert.code), "name": c["name"], "id_number": c["id_number"], "scope_text": scope,
        "total_hours": f"{hours_of(cert.total_minutes):g}", "platform": PLATFORM,
        "issued_on": f"{issued.year}年{issued.month}月{issued.day}日", "verify_url": verify_url(cert.code),
        "organisations": [f"{o['name']}（{hours_of(o['minutes']):g}小时）" for o in c["organisations"]],
        "projects": [{"title": p["title"], "category": p["category"], "organisation": p["organisation"],
                      "days": _day_text(p["first_day"], p["last_day"]), "hours": f"{hours_of(p['minutes']):g}"}
                     for p in c["projects"]],
    }


async def pdf_of_mine(session: AsyncSession, *, actor: Principal, certificate_id: int) -> tuple[str, bytes]:
    from app.services.volunteer.pdf import render

    cert = await _own(session, actor, certificate_id)
    if cert.status != "valid":
        raise verr.CertificateRevoked("该证明已作废，请重新开具")
    return f"志愿服务证明-{display_code(cert.code)}.pdf", await render(pdf_data(cert))


# --- verifying ------------------------------------------------------------------------------------------


async def verify(session: AsyncSession, *, raw_code: str) -> CertificateVerification:
    code = parse_code(raw_code)
    cert = (await session.execute(select(VolunteerCertificate).where(C.code == code))).scalar_one_or_none()
    if cert is None:
        raise verr.CertificateNotFound()
    valid = cert.status == "valid"
    return CertificateVerification(
        code=display_code(cert.code), valid=valid, status=cert.status, holder_name=mask_name(cert.content["name"]),
        total_hours=hours_of(cert.total_minutes), organisations=[o["name"] for o in cert.content["organisations"]],
        issued_on=local_day(cert.issued_at), revoked_on=local_day(cert.revoked_at) if cert.revoked_at else None,
        revoke_kind=cert.revoke_kind,  # type: ignore[arg-type]
        notice=("本证明由春城青年平台开具，信息与平台记录一致。" if valid else "本证明已作废，不能作为志愿服务证明使用。")
        + "本核验不代表全国志愿服务信息系统的核验结果。")


# --- revoking -------------------------------------------------------------------------------------------


async def _revoke(session: AsyncSession, cert: VolunteerCertificate, *, reason: str, kind: str, by: int | None,
                  now: datetime) -> None:
    cert.status, cert.revoked_at, cert.revoked_reason, cert.revoke_kind, cert.revoked_by = (
        "revoked", now, reason, kind, by)
    await session.flush()
    notify(session, CERTIFICATE_REVOKED, cert.user_id, data={"certificate_id": cert.id}, code=display_code(cert.code),
           reason=reason)


async def revoke_for_hours(session: AsyncSession, hours_id: int, now: datetime) -> int:
    """The record ``hours_id`` was corrected: every valid certificate that counted it is revoked."""
    ids = (await session.execute(
        update(VolunteerCertificate).where(
            C.status == "valid",
            C.id.in_(select(VolunteerCertificateHours.certificate_id).where(
                VolunteerCertificateHours.hours_id == hours_id)))
        .values(status="revoked", revoked_at=now, revoked_reason="证明所含的服务时长已更正", revoke_kind="hours_corrected")
        .returning(C.id, C.user_id, C.code).execution_options(**NO_SYNC))).all()
    for _, user_id, code in ids:
        notify(session, CERTIFICATE_REVOKED, user_id, data={"hours_id": hours_id}, code=display_code(code),
               reason="证明所含的服务时长已更正")
    return len(ids)


# --- staff ------------------------------------------------------------------------------------------------


async def staff_search(session: AsyncSession, *, actor: Principal, code: str | None, user_id: int | None,
                       status: str | None, issued_from: date | None, issued_to: date | None, cursor: str | None,
                       limit: int) -> Page[StaffCertificate]:
    stmt = select(VolunteerCertificate)
    if code:
        stmt = stmt.where(C.code == parse_code(code))
    if user_id is not None:
        stmt = stmt.where(C.user_id == user_id)
    if status:
        stmt = stmt.where(C.status == status)
    start, end = day_span(issued_from, issued_to)
    if start:
        stmt = stmt.where(C.issued_at >= start)
    if end:
        stmt = stmt.where(C.issued_at < end)
    page = await keyset(session, stmt, [Key("i", C.id, desc=True)], cursor=cursor, limit=limit, tag="staff-certs")
    # Names and masked ID numbers: who looked them up is kept.
    await audit.record(session, actor=actor, action="volunteer_certificate.search",
                       target_kind="volunteer_certificate",
                       detail={"code": bool(code), "user_id": user_id, "status": status,
                               "ids": [r[0].id for r in page.rows]})
    return page.page(lambda r: _staff_view(r[0]))


def _staff_view(cert: VolunteerCertificate) -> StaffCertificate:
    return StaffCertificate(**view(cert).model_dump(), user_id=cert.user_id, revoke_kind=cert.revoke_kind)


async def staff_get(session: AsyncSession, *, actor: Principal, certificate_id: int) -> StaffCertificate:
    cert = await session.get(VolunteerCertificate, certificate_id)
    if cert is None:
        raise errors.NotFound()
    await audit.record(session, actor=actor, action="volunteer_certificate.read", target_kind="volunteer_certificate",
                       target_id=cert.id)
    return _staff_view(cert)


async def staff_revoke(session: AsyncSession, *, actor: Principal, certificate_id: int, reason: str
                       ) -> StaffCertificate:
    cert = await session.get(VolunteerCertificate, certificate_id, with_for_update={"key_share": True},
                             populate_existing=True)
    if cert is None:
        raise errors.NotFound()
    if cert.status != "valid":
        raise verr.CertificateRevoked()
    await _revoke(session, cert, reason=reason, kind="staff", by=actor.user_id, now=clock.now())
    await audit.record(session, actor=actor, action="volunteer_certificate.revoke",
                       target_kind="volunteer_certificate", target_id=cert.id, reason=reason)
    return _staff_view(cert)

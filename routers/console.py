"""The staff console's pages (``/console``, HTML, not in the OpenAPI document) and the dashboards'
JSON and CSV (``/api/v1/staff/stats/...``, bearer tokens like every staff endpoint).

Pages stand on a cookie session (app.services.console.sessions); every POST, form or htmx, carries
the CSRF token. Each handler is its dependencies, one service call and a template.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import crypto, errors
from app.config import KUNMING_DISTRICTS
from app.contract import raises
from app.deps import SessionDep, StaffUser, client_ip
from app.kit import csv as kit_csv
from app.kit.postings import REGISTRY, path_id, status_label
from app.kit.time import display
from app.schemas.common import DayIn, renamed_query
from app.schemas.console import DashboardPublic, dashboard_enum
from app.schemas.moderation import QueueStatus, ReviewDecision
from app.schemas.orgs import OrgDecision
from app.services import auth, moderation, orgs, volunteer
from app.services import console as console_service
from app.services.console import pages, sessions, stats, totp
from app.services.console.errors import (
    CsrfFailed,
    LoginRequired,
    SecondFactorRequired,
    SessionExpired,
    UnknownDashboard,
)
from app.services.console.settings import cookie_secure
from app.services.console.settings import settings as console_settings
from models.moderation import ReportAction

HERE = FilePath(console_service.__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), enable_async=False)
_env.globals.update(kind_label=pages.kind_label, status_label=status_label, districts=KUNMING_DISTRICTS,
                    dashboards=stats.DASHBOARDS, credit_code_ok=pages.credit_code_ok)
_env.filters["when"] = lambda dt: display(dt, "%Y-%m-%d %H:%M") if dt else ""
_env.filters["pretty"] = pages.pretty

# Same origin only: every script, style and font is served from /console/static (no CDN can be asked).
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    signed = getattr(request.state, "console", None)
    ctx.setdefault("csrf", signed.csrf if signed else None)
    html = _env.get_template(name).render(request=request, me=signed, **ctx)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


class ConsoleRoute(APIRoute):
    """Console errors are pages, not JSON: a missing or expired session goes to the login page (or the
    second-factor page), any other service error is shown in Chinese with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, SessionExpired) as exc:
                if request.method == "GET":
                    target = f"/console/login?next={quote(request.url.path)}"
                    if isinstance(exc, SessionExpired):
                        target += "&expired=1"
                    return redirect(target)
                return render(request, "error.html", exc.status_code, error=exc)
            except SecondFactorRequired:
                return redirect("/console/2fa")
            except (errors.AppError, RequestValidationError) as exc:
                if isinstance(exc, RequestValidationError):
                    from app.main import _validation_error  # the API's Chinese field messages

                    exc = _validation_error(exc)
                page = "_error.html" if request.headers.get("hx-request") else "error.html"
                return render(request, page, exc.status_code, error=exc)

        return run


router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
api = APIRouter(tags=["staff console"])


def _token(request: Request) -> str | None:
    return request.cookies.get(sessions.cookie_name())


async def _check_csrf(request: Request, token: str | None, purpose: str = "session") -> None:
    if request.method != "POST":
        return
    given = request.headers.get("x-csrf-token")
    if not given:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not sessions.csrf_ok(token, given, purpose):
        raise CsrfFailed()


async def signed_in(request: Request, session: SessionDep) -> sessions.Signed:
    signed = await sessions.load(session, _token(request))
    request.state.console = signed
    await _check_csrf(request, signed.token)
    return signed


async def half_signed(request: Request, session: SessionDep) -> sessions.Signed:
    """A session whose password was right and whose second factor is still to come."""
    signed = await sessions.load(session, _token(request), require_verified=False)
    await _check_csrf(request, signed.token)
    return signed


Staff = Annotated[sessions.Signed, Depends(signed_in)]
HalfSigned = Annotated[sessions.Signed, Depends(half_signed)]


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=cookie_secure(), httponly=True,
                        samesite="strict")


def _safe_next(target: str | None) -> str:
    # Only a console path of this site: never an open redirect.
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/reviews"


# --- static files -------------------------------------------------------------------------------------

_STATIC_FILES = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


@router.get("/console/static/{path:path}")
async def static(path: str) -> Response:
    file = _STATIC_FILES.get(path)  # only files shipped in the folder: no path ever leaves it
    if file is None:
        raise errors.NotFound()
    return FileResponse(file, media_type=_TYPES.get(file.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


# --- sign-in ------------------------------------------------------------------------------------------


@router.get("/console")
async def home() -> Response:
    return redirect("/console/reviews")


@router.get("/console/login")
async def login_page(request: Request, next: Annotated[str | None, Query(max_length=200)] = None,
                     expired: bool = False) -> Response:
    pre = request.cookies.get(sessions.pre_cookie_name()) or crypto.new_token(16)
    response = render(request, "login.html", pre_csrf=sessions.csrf_for(pre, "login"), next=_safe_next(next),
                      expired=expired)
    _set_cookie(response, sessions.pre_cookie_name(), pre, 3600)
    return response


@router.post("/console/login")
async def login(request: Request, session: SessionDep, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=200)], csrf_token: Annotated[str, Form(max_length=100)],
                next: Annotated[str | None, Form(max_length=200)] = None) -> Response:
    # Login CSRF: the form's token must match this browser's pre-login cookie.
    if not sessions.csrf_ok(request.cookies.get(sessions.pre_cookie_name()), csrf_token, "login"):
        raise CsrfFailed()
    token, needs_second = await sessions.login(session, username=username, password=password, ip=client_ip(request))
    response = redirect("/console/2fa" if needs_second else _safe_next(next))
    _set_cookie(response, sessions.cookie_name(), token, console_settings().console_session_max_hours * 3600)
    response.delete_cookie(sessions.pre_cookie_name(), path="/", secure=cookie_secure(), httponly=True,
                           samesite="strict")
    return response


@router.get("/console/2fa")
async def second_factor_page(request: Request, signed: HalfSigned, session: SessionDep) -> Response:
    if signed.session.verified:
        return redirect("/console/reviews")
    pending = await sessions.pending_enrolment(session, signed)
    ctx: dict[str, Any] = {"csrf": signed.csrf, "enrolled": pending is None}
    if pending is not None:
        ctx.update(_enrolment(pending.secret, signed.username))
    return render(request, "second_factor.html", **ctx)


def _enrolment(secret: str, username: str) -> dict[str, Any]:
    import segno

    uri = totp.uri(secret, username)
    return {"secret": secret, "qr": segno.make(uri, error="m").svg_data_uri(scale=4)}


@router.post("/console/2fa")
async def second_factor(request: Request, signed: HalfSigned, session: SessionDep,
                        code: Annotated[str, Form(max_length=12)]) -> Response:
    await sessions.check_code(session, signed, code)
    return redirect("/console/reviews")


@router.post("/console/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    signed = await sessions.load(session, _token(request), require_verified=False)
    await _check_csrf(request, signed.token)
    await sessions.logout(session, signed)
    response = redirect("/console/login")
    response.delete_cookie(sessions.cookie_name(), path="/", secure=cookie_secure(), httponly=True, samesite="strict")
    return response


# --- the review queue ---------------------------------------------------------------------------------


@router.get("/console/reviews")
async def reviews(request: Request, signed: Staff, session: SessionDep,
                  kind: Annotated[str | None, Query(max_length=40)] = None,
                  status: Annotated[QueueStatus | None, Query()] = None,
                  cursor: Annotated[str | None, Query(max_length=200)] = None,
                  done: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    page = await pages.queue(session, kind=kind, status=status, cursor=cursor)
    return render(request, "reviews.html", page=page, kinds=REGISTRY, kind=kind, status=status, done=done)


@router.get("/console/reviews/{kind}/{posting_id}")
async def review(request: Request, kind: str, posting_id: path_id("内容编号"),
                 signed: Staff, session: SessionDep) -> Response:
    return render(request, "review.html", **await pages.review(session, kind=kind, posting_id=posting_id))


@router.post("/console/reviews/{kind}/{posting_id}/{decision}")
async def decide(request: Request, kind: str, posting_id: path_id("内容编号"), decision: ReviewDecision,
                 signed: Staff, session: SessionDep,
                 reason: Annotated[str | None, Form(max_length=500)] = None) -> Response:
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) < 2:
        raise errors.ValidationFailed(fields={"reason": "内容太短"})  # as the API's Reason
    item = await moderation.decide(session, actor=signed.principal, kind=kind, posting_id=posting_id,
                                   decision=decision, reason=reason)
    if request.headers.get("hx-request"):
        return render(request, "_decided.html", item=item, decision=decision)
    return redirect(f"/console/reviews?done={decision.value}")


# --- reports ------------------------------------------------------------------------------------------


@router.get("/console/reports")
async def reports(request: Request, signed: Staff, session: SessionDep,
                  status: Annotated[str | None, Query(pattern="^(open|dismissed|actioned)$")] = None,
                  cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    page = await pages.reports(session, status=status, cursor=cursor)
    return render(request, "reports.html", page=page, status=status or "open", actions=ReportAction)


@router.post("/console/reports/{report_id}/resolve")
async def resolve(request: Request, report_id: path_id("举报编号"), signed: Staff, session: SessionDep,
                  action: Annotated[ReportAction, Form()], reason: Annotated[str, Form(min_length=2, max_length=500)]
                  ) -> Response:
    await moderation.resolve_report(session, actor=signed.principal, report_id=report_id, action=action,
                                    reason=reason.strip())
    return redirect("/console/reports")


# --- organisations ------------------------------------------------------------------------------------


@router.get("/console/orgs")
async def organisations(request: Request, signed: Staff, session: SessionDep,
                        status: Annotated[str | None, Query(pattern="^(pending|verified|rejected|suspended)$")] = None,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    page = await pages.organisations(session, status=status, cursor=cursor)
    return render(request, "orgs.html", page=page, status=status or "pending")


@router.post("/console/orgs/{org_id}/{decision}")
async def decide_org(request: Request, org_id: path_id("机构编号"), decision: OrgDecision, signed: Staff,
                     session: SessionDep, reason: Annotated[str | None, Form(max_length=500)] = None) -> Response:
    reason = (reason or "").strip() or None
    if decision != OrgDecision.verify and not reason:
        raise errors.ValidationFailed(fields={"reason": "请填写原因"})
    await orgs.decide(session, actor=signed.principal, org_id=org_id, decision=decision, reason=reason)
    return redirect("/console/orgs")


# --- accounts, certificates, late organisations -------------------------------------------------------


@router.get("/console/users")
async def users(request: Request, signed: Staff, session: SessionDep,
                user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    found = await pages.account(session, user_id=user_id) if user_id else None
    return render(request, "users.html", user_id=user_id, found=found)


@router.post("/console/users/{user_id}/{decision}")
async def decide_user(request: Request, user_id: path_id("用户编号"),
                      decision: Annotated[str, Path(pattern="^(suspend|reinstate)$")], signed: Staff,
                      session: SessionDep, reason: Annotated[str, Form(min_length=2, max_length=200)]) -> Response:
    act = auth.staff_suspend if decision == "suspend" else auth.staff_reinstate
    await act(session, actor=signed.principal, user_id=user_id, reason=reason.strip())
    return redirect(f"/console/users?user_id={user_id}")


@router.get("/console/certificates")
async def certificates(request: Request, signed: Staff, session: SessionDep,
                       code: Annotated[str | None, Query(max_length=40)] = None,
                       user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    page = await pages.certificates(session, actor=signed.principal, code=(code or "").strip() or None,
                                    user_id=user_id, cursor=cursor)
    return render(request, "certificates.html", page=page, code=code or "", user_id=user_id)


@router.post("/console/certificates/{certificate_id}/revoke")
async def revoke_certificate(request: Request, certificate_id: path_id("证明编号"), signed: Staff,
                             session: SessionDep, reason: Annotated[str, Form(min_length=2, max_length=500)]
                             ) -> Response:
    cert = await volunteer.revoke_certificate(session, actor=signed.principal, certificate_id=certificate_id,
                                              reason=reason.strip())
    return redirect(f"/console/certificates?code={quote(cert.code)}")


@router.get("/console/late")
async def late(request: Request, signed: Staff, session: SessionDep,
               cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    return render(request, "late.html", page=await pages.late_organisations(session, cursor=cursor),
                  slow=await pages.slow_to_answer(session), answer_days=console_settings().console_applicant_answer_days)


# --- the audit log ------------------------------------------------------------------------------------


@router.get("/console/audit")
async def audit_log(request: Request, signed: Staff, session: SessionDep,
                    actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                    action: Annotated[str | None, Query(max_length=64)] = None,
                    target_kind: Annotated[str | None, Query(max_length=40)] = None,
                    target_id: Annotated[str | None, Query(max_length=40)] = None,
                    date_from: Annotated[DayIn | None, Query()] = None,
                    date_to: Annotated[DayIn | None, Query()] = None,
                    cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    page = await pages.audit_log(session, actor_id=actor_id, action=action, target_kind=target_kind,
                                 target_id=target_id, first=date_from, last=date_to, cursor=cursor)
    return render(request, "audit.html", page=page, q=request.query_params)


# --- dashboards ---------------------------------------------------------------------------------------

First = Annotated[DayIn | None, Query(description="起始日期（含），YYYY-MM-DD，上海时间；默认为截止日期前 12 周")]
Last = Annotated[DayIn | None, Query(description="截止日期（含），YYYY-MM-DD，上海时间；默认为今天")]
District = Annotated[str | None, Query(max_length=16, description="只统计这个昆明市的区县（如“五华区”）；不填为全市")]
# The API's closed set (the pages' form sends an empty text for "all").
ApiDistrict = Annotated[Literal[KUNMING_DISTRICTS] | None,  # type: ignore[valid-type]
                        Query(description="只统计这个昆明市的区县（如“五华区”）；不填为全市")]
DashboardName = Annotated[str, Path(max_length=40, description="报表名称", json_schema_extra=dashboard_enum())]


@router.get("/console/stats")
async def dashboards(request: Request, signed: Staff) -> Response:
    return render(request, "stats_index.html")


@router.get("/console/stats/{name}.csv")
async def dashboard_csv(name: str, signed: Staff, session: SessionDep, date_from: First = None,
                        date_to: Last = None, district: District = None) -> Response:
    export = await stats.export(session, actor=signed.principal, name=name,
                                f=stats.filters(date_from, date_to, district or None))
    return kit_csv.response(export)


@router.get("/console/stats/{name}")
async def dashboard(request: Request, name: str, signed: Staff, session: SessionDep, date_from: First = None,
                    date_to: Last = None, district: District = None) -> Response:
    f = stats.filters(date_from, date_to, district or None)
    data = await stats.compute(session, name, f)
    return render(request, "stats.html", data=data, f=f, query=request.url.query)


@api.get("/api/v1/staff/stats/{name}.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}},
         summary="导出统计报表（CSV）",
         description="仅团委工作人员。与 JSON 报表相同的表格和筛选，导出为 CSV（UTF-8 带 BOM，可直接用 Excel 打开），"
                     "最后一行为合计；人数为 1 到 `YOUTH_CONSOLE_MIN_CELL`（默认 10）减一的单元格显示为“<10”，"
                     "能据此推算出它的单元格一并隐藏。每次导出记入审计日志（谁、哪张报表、哪些筛选）。"
                     "报表名称见参数 `name`。", dependencies=[renamed_query({"from": "date_from", "to": "date_to"})])
@raises(UnknownDashboard)
async def stats_csv(name: DashboardName, user: StaffUser, session: SessionDep, date_from: First = None,
                    date_to: Last = None, district: ApiDistrict = None) -> Response:
    export = await stats.export(session, actor=user, name=name, f=stats.filters(date_from, date_to, district))
    return kit_csv.response(export)


@api.get("/api/v1/staff/stats/{name}", response_model=DashboardPublic,
         summary="统计报表（JSON）",
         description="仅团委工作人员。一张统计表：各行各列的计数及行、列合计，期间为 `date_from`–`date_to`"
                     "（上海时间的日期，含两端，默认最近 12 周，最长约两年），可只看一个区县。只有计数，不含任何个人信息；"
                     "人数为 1 到 `YOUTH_CONSOLE_MIN_CELL`（默认 10）减一的单元格显示为“<10”，"
                     "能据此推算出它的单元格一并隐藏（0 照常显示）。报表名称见参数 `name`。", dependencies=[renamed_query({"from": "date_from", "to": "date_to"})])
@raises(UnknownDashboard)
async def stats_json(name: DashboardName, user: StaffUser, session: SessionDep, date_from: First = None,
                     date_to: Last = None, district: ApiDistrict = None) -> dict[str, Any]:
    return await stats.compute(session, name, stats.filters(date_from, date_to, district))


# --- security settings --------------------------------------------------------------------------------


@router.get("/console/security")
async def security(request: Request, signed: Staff, session: SessionDep) -> Response:
    enrolled = await sessions.confirmed_totp(session, signed.principal.user_id)
    pending = await sessions.pending_enrolment(session, signed)
    ctx: dict[str, Any] = {"enrolled": enrolled is not None, "required": await sessions.totp_required(session)}
    if pending is not None:
        ctx.update(_enrolment(pending.secret, signed.username))
    return render(request, "security.html", **ctx)


@router.post("/console/security/totp/start")
async def security_totp_start(request: Request, signed: Staff, session: SessionDep) -> Response:
    await sessions.start_enrolment(session, signed)
    return redirect("/console/security")


@router.post("/console/security/totp")
async def security_totp(request: Request, signed: Staff, session: SessionDep,
                        code: Annotated[str, Form(max_length=12)]) -> Response:
    await sessions.check_code(session, signed, code)
    return redirect("/console/security")


@router.post("/console/security/totp/disable")
async def security_totp_disable(request: Request, signed: Staff, session: SessionDep) -> Response:
    await sessions.disable_totp(session, signed)
    return redirect("/console/security")


@router.post("/console/security/totp-required")
async def security_totp_required(request: Request, signed: Staff, session: SessionDep,
                                 required: Annotated[bool, Form()] = False) -> Response:
    await sessions.set_totp_required(session, signed, required)
    return redirect("/console/security")

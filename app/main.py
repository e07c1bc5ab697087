"""The application: routers, the error handlers, request ids, body limits, health checks."""

from __future__ import annotations

import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import contract, errors, routing_index
from app.config import get_settings
from app.context import configure_logging, request_id_var
from app.contract import raises
from app.db import dispose_engine, get_engine
from app.metrics import MetricsMiddleware, metrics_endpoint
from app.schemas.common import HealthOut
from app.wechat import close_wechat_client
from routers import ROUTERS

log = logging.getLogger("youth")

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def error_response(err: errors.AppError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status_code, headers=err.headers or None)


class RequestContextMiddleware:
    """Accepts or makes ``X-Request-ID``, echoes it, refuses bodies over the size limit (413), and
    marks personal answers ``Cache-Control: no-store``."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")
        if not _REQUEST_ID_OK.match(rid):
            rid = uuid.uuid4().hex
        token = request_id_var.set(rid)
        # Whatever answers a request with credentials (or hands out tokens) is about one person: no
        # browser, WebView or shared proxy may keep a copy.
        personal = b"authorization" in headers or scope["path"].startswith("/api/v1/auth/")
        # Starlette answers unhandled errors outside this middleware, after the context var is reset.
        scope.setdefault("state", {})["request_id"] = rid
        try:
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
                await _send_error(send, errors.PayloadTooLarge(), rid)
                return
            received = 0
            too_large = False
            started = False

            async def limited_receive() -> Message:
                nonlocal received, too_large
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        too_large = True
                        raise _BodyTooLarge()
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal started
                if too_large:
                    return  # the app's answer to the interrupted body is replaced by a 413 below
                if message["type"] == "http.response.start":
                    started = True
                    extra = [(b"x-request-id", rid.encode())]
                    if personal:
                        extra.append((b"cache-control", b"no-store"))
                    message["headers"] = [*(h for h in message.get("headers", [])
                                            if not (personal and h[0].lower() == b"cache-control")), *extra]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                pass
            if too_large and not started:
                await _send_error(send, errors.PayloadTooLarge(), rid)
        finally:
            request_id_var.reset(token)


class _BodyTooLarge(Exception):
    pass


async def _send_error(send: Send, err: errors.AppError, rid: str) -> None:
    resp = error_response(err)
    resp.headers["x-request-id"] = rid
    await resp({"type": "http"}, _noop_receive, send)


async def _noop_receive() -> Message:
    return {"type": "http.disconnect"}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


_MESSAGES = {
    "missing": "必填",
    "string_too_long": "内容太长",
    "string_too_short": "内容太短",
    "extra_forbidden": "不支持该字段",
    "json_invalid": "JSON 格式不正确",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "timezone_aware": "请填写带时区的日期时间，例如 2026-12-31T18:00:00+08:00",
    "date_parsing": "日期格式不正确",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "string_pattern_mismatch": "格式不正确",
    "model_attributes_type": "格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "too_long": "项目太多",
    "too_short": "项目太少",
}


def _validation_error(exc: RequestValidationError) -> errors.AppError:
    fields: dict[str, str] = {}
    for e in exc.errors():
        name = _field_name(tuple(e.get("loc", ())))
        if e.get("type") == "value_error":
            msg = str(e.get("ctx", {}).get("error", "")) or "填写有误"
        else:
            msg = _MESSAGES.get(e.get("type", ""), "填写有误")
        fields.setdefault(name, msg)
    return errors.ValidationFailed(fields=fields)


_DB_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, ConnectionError, OSError)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.AppError)
    async def _app_error(_: Request, exc: errors.AppError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        err: errors.AppError
        if exc.status_code == 404:
            err = errors.RouteNotFound()
        elif exc.status_code == 405:
            err = errors.MethodNotAllowed()
        elif exc.status_code == 401:
            err = errors.Unauthenticated()
        elif exc.status_code == 403:
            err = errors.Forbidden()
        elif exc.status_code == 413:
            err = errors.PayloadTooLarge()
        else:
            err = errors.BadRequest()
        return error_response(err)

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        return error_response(errors.BadRequest("提交的内容层级太深"))

    @app.exception_handler(sa_exc.DataError)
    async def _data(_: Request, exc: sa_exc.DataError) -> JSONResponse:
        # A value the column cannot hold (an id past 2**31 on PostgreSQL): the client's input, not our fault.
        return error_response(errors.ValidationFailed("数值超出允许范围"))

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # SQLite's driver refuses integers past 2**63 before SQL runs.
        return error_response(errors.ValidationFailed("数值超出允许范围"))

    @app.exception_handler(sa_exc.IntegrityError)
    async def _integrity(_: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
        # A race that a service did not catch itself; the transaction was rolled back.
        log.warning("integrity conflict: %s", type(exc.orig).__name__)
        return error_response(errors.Conflict())

    @app.exception_handler(sa_exc.DBAPIError)
    async def _db(_: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
        # SQLSTATE class 22 (data exception), e.g. asyncpg refusing an id past int32 while binding.
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if state.startswith("22"):
            text_problem = state in ("22021", "22P05")  # a character the database cannot store (NUL)
            return error_response(errors.ValidationFailed("内容中有无法识别的字符" if text_problem else "数值超出允许范围"))
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        # 08: connection exceptions; 57P: shutting down / cannot connect now; 53300: too many connections
        if isinstance(exc, _DB_DOWN) or exc.connection_invalidated or sqlstate.startswith(("08", "57P", "53300")):
            # The driver's own first line only: the wrapped error's text carries SQL parameters.
            first = str(exc.orig).splitlines()[0][:200] if exc.orig else ""
            log.warning("database unavailable: %s %s", type(exc.orig or exc).__name__, first)
            return error_response(errors.DbUnavailable(headers={"Retry-After": "2"}))
        log.exception("database error")
        return error_response(errors.InternalError())

    @app.exception_handler(sa_exc.TimeoutError)
    async def _busy(_: Request, exc: sa_exc.TimeoutError) -> JSONResponse:
        # No pooled connection came free within the pool timeout: the database is up but saturated.
        log.warning("no database connection free within the pool timeout")
        return error_response(errors.ServerBusy(headers={"Retry-After": "2"}))

    for exc_type in (ConnectionError, OSError):

        @app.exception_handler(exc_type)
        async def _down(_: Request, exc: Exception) -> JSONResponse:
            log.warning("database unavailable: %s", type(exc).__name__)
            return error_response(errors.DbUnavailable(headers={"Retry-After": "2"}))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id_var.get() or getattr(request.state, "request_id", None) or "-"
        if _is_db_outage(exc):
            response = error_response(errors.DbUnavailable(headers={"Retry-After": "2"}))
        else:
            token = request_id_var.set(rid)
            try:
                log.exception("unhandled error")
            finally:
                request_id_var.reset(token)
            response = error_response(errors.InternalError(f"服务器开小差了，请稍后再试（请求编号 {rid}）"))
        response.headers["x-request-id"] = rid
        return response


def _is_db_outage(exc: Exception) -> bool:
    try:
        import asyncpg

        return isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError)
    except ImportError:  # pragma: no cover
        return False


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    settings.check_production_ready()
    configure_logging(settings.json_logs)
    standin = None
    if settings.uses_standin and getattr(app.state, "start_standin", True):
        from app.wechat.standin import start_standin_if_free

        standin = start_standin_if_free(settings)
    await _warm_up(app)
    try:
        yield
    finally:
        await close_wechat_client()
        await dispose_engine()
        if standin is not None:
            standin.stop()


async def _warm_up(app: FastAPI) -> None:
    """FastAPI builds its middleware stack and every route's dispatch state on the first request, which
    takes a worker about 200 ms: pay it before taking traffic, not in the first second of a rush."""
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://warm-up") as client:
        await client.get("/_warm-up")  # matches no route, so every route is looked at
    # Everything loaded so far lives as long as the process: keep it out of the collector's full
    # passes, which otherwise walk ~200,000 objects (tens of ms, seen as p99 spikes) every so often.
    gc.collect()
    gc.freeze()


def create_app(*, start_standin: bool = True) -> FastAPI:
    settings = get_settings()
    docs = settings.docs_enabled
    app = FastAPI(
        title="Spring City Youth API (春城青年)",
        version="0.1.0",
        description="Backend of the Spring City Youth mini-program: housing, events, counselling and more.",
        lifespan=lifespan,
        generate_unique_id_function=contract.operation_id,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.start_standin = start_standin
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body=settings.max_body_bytes)
    # Outermost: everything inside (rate limits, login throttles, logs) sees the real client address,
    # taken from X-Forwarded-For only when the connection comes from a trusted proxy.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # Outside everything else, so that a refused body (413) or a proxy error is counted too.
    app.add_middleware(MetricsMiddleware)
    if settings.env == "test":
        # Which error codes each operation really answers, checked against its declaration at the end
        # of the test session (tests/conftest.py).
        app.add_middleware(contract.AnswerRecorder)

    @app.get("/healthz", tags=["health"], summary="进程存活检查",
             description="进程在运行即回答 `{\"status\": \"ok\"}`，不查数据库。给负载均衡和容器健康检查用。")
    @raises()
    async def health_live() -> HealthOut:
        return HealthOut(status="ok")

    @app.get("/readyz", tags=["health"], summary="就绪检查（数据库可用）",
             description="数据库能回答时回答 `{\"status\": \"ready\"}`，否则 503 `DB_UNAVAILABLE`。")
    @raises(errors.DbUnavailable)
    async def health_ready() -> HealthOut:
        async with get_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        return HealthOut(status="ready")

    # Operations' business, not the mini-program's: left out of the OpenAPI document.
    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)

    for router in ROUTERS:
        app.include_router(router)
    routing_index.install(app)
    contract.install(app)
    return app

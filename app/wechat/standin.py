"""A local stand-in for WeChat's servers, for development and the tests.

It answers with WeChat's request and response shapes and error codes over real HTTP, so the real
client is exercised end to end. Its state lives in memory: run it as ONE process.

- Login codes: ``dev:<name>`` or ``dev:<name>:<nonce>``; the same name is the same person (openid).
  Each code works once. Names starting with ``risky`` are refused as high-risk users (40226).
- Phone codes: ``phone:<digits>`` or ``phone:<digits>:<nonce>``, once each; the number is ``<digits>``.
- Face verification results: ``face:<name>:<id number>:<real name>[:<nonce>]``, once each, say that the
  ``dev:<name>`` person's face matched that name and number (a name starting with ``noface`` fails).
- Server tokens as WeChat keeps them: ``/cgi-bin/token`` and ``/cgi-bin/stable_token`` hand out tokens
  from separate pools; a new token leaves the pool's previous one valid for 5 more minutes;
  ``force_refresh`` works 20 times a day, 30 s apart (45009, 45011). A missing code is 41008, and every
  ``errmsg`` ends with ``, rid: …`` as WeChat's do.
- Subscribe messages to an openid starting with ``nocredit`` fail with 43101; every keyword value is
  checked against its type's rule as WeChat does (app.wechat.keywords), a failing one answers 47003
  naming the field.
- Text containing "risky", "赌博" or "裸聊" is risky; "review" or "待审" goes to review.
- Hooks: ``GET /_standin/stats``, ``POST /_standin/behaviour`` (``delay_seconds``, ``down``, ``busy_once``,
  ``reject_tokens``, ``clock_offset_seconds`` to move the stand-in's clock on, ``fail_sends``: that many
  next subscribe sends answer HTTP 503), ``POST /_standin/reset``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.config import Settings
from app.wechat import keywords

log = logging.getLogger("youth.wechat.standin")

_LOGIN_CODE = re.compile(r"dev:([^:\s]{1,64})(?::[^:\s]{1,64})?")
_PHONE_CODE = re.compile(r"phone:(\d{5,15})(?::[^:\s]{1,64})?")
_FACE_RESULT = re.compile(r"face:([^:\s]{1,64}):([0-9X]{18}):([^:]{1,32})(?::[^:\s]{1,64})?")
TOKEN_TTL = 7200
OLD_TOKEN_GRACE = 300  # after a refresh the pool's previous token works this much longer
FORCE_PER_DAY = 20
FORCE_APART = 30
# stable_token (without force_refresh) hands out a new token once the old one has 5 minutes left.
_STABLE_RENEW_WITHIN = 300
_RISKY_WORDS = ("risky", "赌博", "裸聊")
_REVIEW_WORDS = ("review", "待审")
_THREAD_NAME = "wechat-standin"

Answer = dict[str, Any]


def openid_for(name: str) -> str:
    """The openid the stand-in gives a ``dev:<name>`` login (28 characters, like WeChat's)."""
    return "o" + hashlib.sha256(name.encode()).hexdigest()[:27]


def _rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def _err(code: int, message: str) -> Answer:
    # WeChat appends a request id to every error message: clients must read errcode, never errmsg.
    return {"errcode": code, "errmsg": f"{message}, rid: {_rid()}"}


def _ok(**fields: Any) -> Answer:
    return {"errcode": 0, "errmsg": "ok", **fields}


@dataclass
class Behaviour:
    delay_seconds: float = 0.0
    down: bool = False  # answer HTTP 503
    busy_once: bool = False  # the next call answers errcode -1
    reject_tokens: bool = False  # every access token is refused with 40001, even fresh ones
    clock_offset_seconds: float = 0.0  # the stand-in's clock runs this far ahead (token expiry, quotas)
    fail_sends: int = 0  # this many next subscribe sends answer HTTP 503


@dataclass
class StandinState:
    appid: str
    secret: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    # Per pool ("token": /cgi-bin/token, "stable": /cgi-bin/stable_token): access token → expiry (epoch s)
    pools: dict[str, dict[str, float]] = field(default_factory=lambda: {"token": {}, "stable": {}})
    current: dict[str, str] = field(default_factory=dict)  # the pool's newest token
    forced: list[float] = field(default_factory=list)  # when force_refresh was honoured
    used_codes: set[str] = field(default_factory=set)
    token_fetches: int = 0
    logins: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    def now(self) -> float:
        return time.time() + self.behaviour.clock_offset_seconds

    def issue_token(self, pool: str) -> str:
        """A new token in ``pool``; the pool's older tokens stay valid for OLD_TOKEN_GRACE at most."""
        now = self.now()
        tokens = {t: min(exp, now + OLD_TOKEN_GRACE) for t, exp in self.pools[pool].items() if exp > now}
        token = "standin_" + secrets.token_urlsafe(48)
        tokens[token] = now + TOKEN_TTL
        self.pools[pool] = tokens
        self.current[pool] = token
        return token

    def force_refusal(self) -> Answer | None:
        now = self.now()
        self.forced = [t for t in self.forced if t > now - 86400]
        if len(self.forced) >= FORCE_PER_DAY:
            return _err(45009, "reach max api daily quota limit")
        if self.forced and now - self.forced[-1] < FORCE_APART:
            return _err(45011, "api minute-quota reach limit mustslower retry next minute")
        self.forced.append(now)
        return None

    def credential_error(self, given: Mapping[str, Any], expected_grant: str) -> Answer | None:
        if given.get("appid") != self.appid:
            return _err(40013, "invalid appid")
        if given.get("secret") != self.secret:
            return _err(40125, "invalid appsecret")
        if given.get("grant_type") != expected_grant:
            return _err(40002, "invalid grant_type")
        return None

    def token_error(self, request: Request) -> Answer | None:
        token = request.query_params.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        expires = next((pool[token] for pool in self.pools.values() if token in pool), None)
        if expires is None or self.behaviour.reject_tokens:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if expires <= self.now():
            return _err(42001, "access_token expired")
        return None


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


Handler = Callable[[Request, StandinState], Awaitable[Answer | Response]]


def _wechat_api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Counts the call and applies the misbehaviour the tests asked for before answering."""

    async def endpoint(request: Request) -> Response:
        state: StandinState = request.app.state.wx
        state.calls[request.url.path] += 1
        behaviour = state.behaviour
        if behaviour.delay_seconds > 0:
            await asyncio.sleep(behaviour.delay_seconds)
        if behaviour.down:
            return JSONResponse({"errmsg": "service unavailable"}, status_code=503)
        if behaviour.busy_once:
            behaviour.busy_once = False
            return JSONResponse(_err(-1, "system error"))
        answer = await handler(request, state)
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    return endpoint


async def _jscode2session(request: Request, state: StandinState) -> Answer:
    if err := state.credential_error(request.query_params, "authorization_code"):
        return err
    code = request.query_params.get("js_code", "")
    if not code:
        return _err(41008, "missing code")
    match = _LOGIN_CODE.fullmatch(code)
    if match is None:
        return _err(40029, "invalid code")
    if code in state.used_codes:
        return _err(40163, "code been used")
    state.used_codes.add(code)
    name = match.group(1)
    if name.startswith("risky"):
        return _err(40226, "high risk user")
    state.logins += 1
    # Like WeChat, success carries no errcode. Acts as an app bound to an Open Platform account.
    return {
        "openid": openid_for(name),
        "session_key": base64.b64encode(os.urandom(16)).decode(),
        "unionid": "u" + hashlib.sha256(f"union:{name}".encode()).hexdigest()[:27],
    }


async def _stable_token(request: Request, state: StandinState) -> Answer:
    body = await _json_body(request)
    if body is None:
        return _err(47001, "data format error")
    if err := state.credential_error(body, "client_credential"):
        return err
    force = body.get("force_refresh") is True
    if force and (refusal := state.force_refusal()):
        return refusal
    pool = state.pools["stable"]
    token = state.current.get("stable")
    if force or token is None or pool.get(token, 0) - state.now() <= _STABLE_RENEW_WITHIN:
        token = state.issue_token("stable")
    state.token_fetches += 1
    return {"access_token": token, "expires_in": int(state.pools["stable"][token] - state.now())}


async def _token(request: Request, state: StandinState) -> Answer:
    if err := state.credential_error(request.query_params, "client_credential"):
        return err
    state.token_fetches += 1
    return {"access_token": state.issue_token("token"), "expires_in": TOKEN_TTL}


async def _phone_number(request: Request, state: StandinState) -> Answer:
    if err := state.token_error(request):
        return err
    body = await _json_body(request)
    code = body.get("code") if body else None
    if not code:
        return _err(41008, "missing code")
    match = _PHONE_CODE.fullmatch(code) if isinstance(code, str) else None
    if match is None or code in state.used_codes:
        return _err(40029, "invalid code")
    state.used_codes.add(code)
    number = match.group(1)
    return _ok(phone_info={
        "phoneNumber": number, "purePhoneNumber": number, "countryCode": "86",
        "watermark": {"timestamp": int(time.time()), "appid": state.appid},
    })


async def _face_identify(request: Request, state: StandinState) -> Answer:
    if err := state.token_error(request):
        return err
    body = await _json_body(request)
    result = body.get("verify_result") if body else None
    if not result:
        return _err(41008, "missing verify_result")
    match = _FACE_RESULT.fullmatch(result) if isinstance(result, str) else None
    if match is None or result in state.used_codes:
        return _err(40029, "invalid verify_result")
    state.used_codes.add(result)
    name, number, real_name = match.groups()
    now = int(state.now())
    return _ok(identify_ret=90000 if name.startswith("noface") else 0, identify_time=now, validate_data="",
               openid=openid_for(name), user_id_key="", finish_time=now,
               id_card_number_md5=hashlib.md5(number.encode(), usedforsecurity=False).hexdigest(),
               name_utf8_md5=hashlib.md5(real_name.encode(), usedforsecurity=False).hexdigest())


async def _subscribe_send(request: Request, state: StandinState) -> Answer | Response:
    if state.behaviour.fail_sends > 0:
        state.behaviour.fail_sends -= 1
        return JSONResponse({"errmsg": "service unavailable"}, status_code=503)
    if err := state.token_error(request):
        return err
    body = await _json_body(request)
    if body is None:
        return _err(47001, "data format error")
    touser, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
    if not isinstance(touser, str) or not touser:
        return _err(40003, "invalid openid")
    if not isinstance(template_id, str) or not template_id:
        return _err(40037, "invalid template_id")
    if touser.startswith("nocredit"):
        return _err(43101, "user refuse to accept the msg")
    if not isinstance(data, dict) or not data:
        return _err(47003, "argument invalid! data is empty")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if keywords.check(key, value) is not None:
            return _err(47003, f"argument invalid! data.{key}.value invalid")
    state.messages.append({k: body.get(k) for k in ("touser", "template_id", "page", "data",
                                                     "miniprogram_state", "lang")})
    return _ok(msgid=len(state.messages))


async def _msg_sec_check(request: Request, state: StandinState) -> Answer:
    if err := state.token_error(request):
        return err
    body = await _json_body(request)
    if body is None or body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4):
        return _err(47001, "data format error")
    content, openid = body.get("content"), body.get("openid")
    if not isinstance(openid, str) or not openid:
        return _err(40003, "invalid openid")
    if not isinstance(content, str):
        return _err(47001, "data format error")
    if any(word in content for word in _RISKY_WORDS):
        suggest, label = "risky", 20006
    elif any(word in content for word in _REVIEW_WORDS):
        suggest, label = "review", 21000
    else:
        suggest, label = "pass", 100
    return _ok(
        result={"suggest": suggest, "label": label},
        detail=[{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}],
        trace_id=uuid.uuid4().hex,
    )


async def _stats(request: Request) -> Response:
    state: StandinState = request.app.state.wx
    return JSONResponse({
        "token_fetches": state.token_fetches,
        "forced_refreshes": len(state.forced),
        "logins": state.logins,
        "messages": state.messages,
        "message_count": len(state.messages),
        "calls": dict(state.calls),
    })


async def _behaviour(request: Request) -> Response:
    state: StandinState = request.app.state.wx
    body = await _json_body(request)
    known = {f.name for f in fields(Behaviour)}
    if body is None or not set(body) <= known:
        return JSONResponse({"error": f"expected a JSON object with keys among {sorted(known)}"},
                            status_code=400)
    for key, value in body.items():
        if isinstance(getattr(state.behaviour, key), bool):
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if not ok:
            return JSONResponse({"error": f"bad value for {key}"}, status_code=400)
        setattr(state.behaviour, key, value)
    return JSONResponse(asdict(state.behaviour))


async def _reset(request: Request) -> Response:
    old: StandinState = request.app.state.wx
    request.app.state.wx = StandinState(old.appid, old.secret)
    return JSONResponse({"ok": True})


def create_standin_app(appid: str, secret: str) -> Starlette:
    app = Starlette(routes=[
        Route("/sns/jscode2session", _wechat_api(_jscode2session), methods=["GET"]),
        Route("/cgi-bin/stable_token", _wechat_api(_stable_token), methods=["POST"]),
        Route("/cgi-bin/token", _wechat_api(_token), methods=["GET"]),
        Route("/wxa/business/getuserphonenumber", _wechat_api(_phone_number), methods=["POST"]),
        Route("/cgi-bin/message/subscribe/send", _wechat_api(_subscribe_send), methods=["POST"]),
        Route("/wxa/msg_sec_check", _wechat_api(_msg_sec_check), methods=["POST"]),
        Route("/cityservice/face/identify/getinfo", _wechat_api(_face_identify), methods=["POST"]),
        Route("/_standin/stats", _stats, methods=["GET"]),
        Route("/_standin/behaviour", _behaviour, methods=["POST"]),
        Route("/_standin/reset", _reset, methods=["POST"]),
    ])
    app.state.wx = StandinState(appid, secret)
    return app


class _NotFromStandin(logging.Filter):
    """Keeps the stand-in's requests (fake tokens and secrets in their URLs) out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != _THREAD_NAME


class StandinServer:
    """Runs the stand-in under uvicorn in a background thread; ``port=0`` takes a free port."""

    def __init__(self, *, appid: str, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_standin_app(appid, secret)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 10.0) -> StandinServer:
        """Bind (raising OSError if the port is taken), then serve; returns once requests are accepted."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)  # listening now makes a second stand-in on this port fail at bind
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, _NotFromStandin) for f in access.filters):
            access.addFilter(_NotFromStandin())
        # log_config/log_level None: leave the host process's logging (and uvicorn's levels) alone.
        config = uvicorn.Config(self.app, log_config=None, log_level=None, lifespan="off",
                                timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=_THREAD_NAME,
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the WeChat stand-in did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_standin_if_free(settings: Settings) -> StandinServer | None:
    """Start the stand-in for ``make run``; with several workers, the first to bind the port serves
    them all (its state is in memory, so there must be one) and the others get None."""
    server = StandinServer(appid=settings.wechat_appid, secret=settings.wechat_secret.get_secret_value(),
                           host=settings.wechat_standin_host, port=settings.wechat_standin_port)
    try:
        server.start()
    except OSError:
        log.info("WeChat stand-in already running at %s", settings.wechat_url)
        return None
    log.info("WeChat stand-in serving at %s", server.url)
    return server

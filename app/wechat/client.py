"""A small typed client for the WeChat server APIs we call (shared/docs/wechat.md is the spec).

WeChat reports errors as HTTP 200 with an ``errcode``, so every answer's errcode is read and mapped
to one of our error types. Secrets travel in query strings (app secret, login codes, access tokens):
log API names and errcodes only, never URLs, bodies or tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import aiohttp
import certifi

from app import errors
from app.config import Settings
from app.wechat.tokens import DbTokenStore, FetchedToken, RedisTokenStore, TokenStore

log = logging.getLogger("youth.wechat")

MiniprogramState = Literal["developer", "trial", "formal"]
Suggest = Literal["pass", "review", "risky"]

BUSY = -1
TOKEN_REFUSED = frozenset({40001, 40014, 42001})
# Errcodes that mean our configuration or quota is wrong, not the user's input: someone must act.
_ALERT = frozenset({40013, 40125, 40164, 45009, 48001})
THING_MAX = 20
FORCE_APART_SECONDS = 30  # WeChat: force_refresh at most 20 times a day, 30 s apart
# Idle kept-alive connections are closed after this, shorter than the 5 s many servers (uvicorn, the
# stand-in's) keep them, so that we close first rather than send on a connection being closed.
KEEPALIVE_SECONDS = 4.0
# Before Python 3.12.8, asyncio leaks TLS connections whose peer never completes the TLS shutdown;
# aiohttp then aborts them itself (and warns when asked to on a Python that has the fix).
_ABORT_UNCLOSED_TLS = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)

ErrorMap = Mapping[int, type[errors.AppError]]
_COMMON: ErrorMap = {
    BUSY: errors.WeChatUnavailable,  # still busy after the one retry
    40029: errors.WeChatCodeInvalid,
    41008: errors.WeChatCodeInvalid,  # "missing code"
    40163: errors.WeChatCodeUsed,
    40226: errors.WeChatRiskyUser,
    45009: errors.WeChatRateLimited,
    45011: errors.WeChatRateLimited,
}
_PHONE: ErrorMap = {**_COMMON, 40029: errors.WeChatPhoneCodeInvalid, 41008: errors.WeChatPhoneCodeInvalid}
_FACE: ErrorMap = {**_COMMON, 40029: errors.WeChatFaceResultInvalid, 41008: errors.WeChatFaceResultInvalid}
_SUBSCRIBE: ErrorMap = {**_COMMON, 43101: errors.WeChatNoCredit, 47003: errors.WeChatBadTemplateData}


@dataclass(frozen=True, slots=True)
class WxSession:
    openid: str
    session_key: str = field(repr=False)  # a secret: keep it out of reprs, logs and tracebacks
    unionid: str | None = None


@dataclass(frozen=True, slots=True)
class WxPhone:
    phone_number: str
    pure_phone_number: str
    country_code: str


@dataclass(frozen=True, slots=True)
class FaceResult:
    identify_ret: int  # 0: the face matched the register's photo for the name and number
    openid: str
    id_card_number_md5: str
    name_utf8_md5: str


@dataclass(frozen=True, slots=True)
class SecCheck:
    suggest: Suggest
    label: int


def _errcode(data: Mapping[str, Any]) -> int | None:
    """0 on success (WeChat may omit it); None when the field is there but unreadable."""
    code = data.get("errcode", 0)
    return code if isinstance(code, int) else None


def _fit(key: str, value: str) -> str:
    # A `thing` value over 20 characters fails the whole send (47003): shorten it visibly instead.
    if key.startswith("thing") and len(value) > THING_MAX:
        return value[: THING_MAX - 1] + "…"
    return value


_JSON = {"Content-Type": "application/json"}


def _env_proxy(base_url: str) -> str | None:
    """The proxy HTTP_PROXY / HTTPS_PROXY / ALL_PROXY name for WeChat unless NO_PROXY exempts it, read
    once (httpx, the client before, honoured them; aiohttp's per-request look-up costs two threads)."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or (parts.hostname and urllib.request.proxy_bypass_environment(parts.hostname, proxies)):
        return None
    return proxy


class WeChatOutcomeUnknown(errors.WeChatUnavailable):
    """WeChat may have acted on the request before the answer was lost (a read timeout): for sends,
    retrying could deliver twice. To a person it is the same 503 WECHAT_UNAVAILABLE."""


class WeChatClient:
    def __init__(self, *, appid: str, secret: str, base_url: str, timeout_seconds: float,
                 token_store: TokenStore, miniprogram_state: MiniprogramState = "developer") -> None:
        self.appid = appid
        self._secret = secret
        self._tokens = token_store
        self._miniprogram_state = miniprogram_state
        self._refused: str | None = None  # the token WeChat last refused, so a refresh can tell it apart
        self._forced_at: float | None = None  # monotonic time of this process's last forced refresh
        self._base_url = base_url.rstrip("/")
        # Per phase, as before with httpx: getting a connection (pool wait included), then each read.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout_seconds, sock_connect=timeout_seconds,
                                              sock_read=timeout_seconds)
        self._proxy = _env_proxy(self._base_url)
        # Made on first use: an aiohttp session belongs to the event loop that is running then.
        self._http: aiohttp.ClientSession | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatClient:
        name = f"wechat:{settings.wechat_appid}"
        margin = settings.wechat_token_refresh_margin_seconds
        store: TokenStore
        if settings.redis_url:
            # Long enough for a token fetch: two requests (a forced refresh) with one busy retry each.
            lock = 4 * settings.wechat_timeout_seconds + 2
            store = RedisTokenStore(url=settings.redis_url, name=name, margin_seconds=margin,
                                    lock_seconds=lock)
        else:
            store = DbTokenStore(name=name, margin_seconds=margin)
        return cls(appid=settings.wechat_appid, secret=settings.wechat_secret.get_secret_value(),
                   base_url=settings.wechat_url, timeout_seconds=settings.wechat_timeout_seconds,
                   token_store=store, miniprogram_state=settings.wechat_miniprogram_state)

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None and self._http_loop is asyncio.get_running_loop():
            await http.close()
        await self._tokens.aclose()

    # --- the APIs ---------------------------------------------------------------------------------

    async def code2session(self, code: str) -> WxSession:
        """Exchange a ``wx.login`` code. Codes are single-use: 40029/40163 are never retried."""
        params = {"appid": self.appid, "secret": self._secret, "js_code": code,
                  "grant_type": "authorization_code"}
        data = self._check("jscode2session", await self._send("jscode2session", "GET", "/sns/jscode2session",
                                                              params=params), _COMMON)
        openid, session_key, unionid = data.get("openid"), data.get("session_key"), data.get("unionid")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise self._malformed("jscode2session")
        return WxSession(openid=openid, session_key=session_key,
                         unionid=unionid if isinstance(unionid, str) and unionid else None)

    async def get_phone_number(self, code: str) -> WxPhone:
        """The phone number behind a ``getPhoneNumber`` button code (single-use)."""
        data = await self._call_with_token("getuserphonenumber", "/wxa/business/getuserphonenumber",
                                           {"code": code}, _PHONE)
        info = data.get("phone_info")
        if not isinstance(info, dict):
            raise self._malformed("getuserphonenumber")
        watermark = info.get("watermark")
        if not isinstance(watermark, dict) or watermark.get("appid") != self.appid:
            log.error("wechat getuserphonenumber: watermark appid is not ours")
            raise errors.WeChatError()
        pure, full, country = info.get("purePhoneNumber"), info.get("phoneNumber"), info.get("countryCode")
        # countryCode arrives as a string or a number depending on WeChat's mood: accept both.
        if not isinstance(pure, str) or not pure or type(country) not in (str, int):
            raise self._malformed("getuserphonenumber")
        return WxPhone(phone_number=full if isinstance(full, str) and full else pure,
                       pure_phone_number=pure, country_code=str(country))

    async def face_identify_result(self, verify_result: str) -> FaceResult:
        """The outcome of a face verification the mini-program ran (``wx.startFacialRecognitionVerify``)."""
        data = await self._call_with_token("face_identify", "/cityservice/face/identify/getinfo",
                                           {"verify_result": verify_result}, _FACE)
        ret, openid = data.get("identify_ret"), data.get("openid")
        id_md5, name_md5 = data.get("id_card_number_md5"), data.get("name_utf8_md5")
        if not isinstance(ret, int) or not all(isinstance(v, str) for v in (openid, id_md5, name_md5)):
            raise self._malformed("face_identify")
        return FaceResult(identify_ret=ret, openid=openid, id_card_number_md5=id_md5, name_utf8_md5=name_md5)

    async def msg_sec_check(self, *, content: str, openid: str, scene: int = 3) -> SecCheck:
        """WeChat's text check (v2). errcode 0 only means the call worked: the verdict is ``suggest``."""
        body = {"version": 2, "openid": openid, "scene": scene, "content": content}
        data = await self._call_with_token("msg_sec_check", "/wxa/msg_sec_check", body, _COMMON)
        result = data.get("result")
        suggest = result.get("suggest") if isinstance(result, dict) else None
        label = result.get("label") if isinstance(result, dict) else None
        if suggest not in get_args(Suggest) or not isinstance(label, int):
            raise self._malformed("msg_sec_check")
        return SecCheck(suggest=suggest, label=label)

    async def send_subscribe(self, *, touser: str, template_id: str, data: Mapping[str, str],
                             page: str | None = None, miniprogram_state: MiniprogramState | None = None
                             ) -> None:
        """Send one subscribe message; ``data`` maps field names (``thing1``…) to plain values."""
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": {key: {"value": _fit(key, value)} for key, value in data.items()},
            "miniprogram_state": miniprogram_state or self._miniprogram_state,
            "lang": "zh_CN",
        }
        if page:
            body["page"] = page
        await self._call_with_token("subscribe_send", "/cgi-bin/message/subscribe/send", body, _SUBSCRIBE)

    async def access_token(self) -> str:
        """The server token, from the shared cache (fetched through stable_token when needed)."""
        return await self._tokens.get(self._fetch_token)

    # --- plumbing ---------------------------------------------------------------------------------

    async def _fetch_token(self) -> FetchedToken:
        fetched = await self._stable_token(force_refresh=False)
        recently = self._forced_at is not None and time.monotonic() - self._forced_at < FORCE_APART_SECONDS
        if fetched.token == self._refused and not recently:
            # WeChat still hands out the token it just refused: only a forced refresh replaces it.
            # Forcing otherwise would invalidate every other process's copy, and WeChat allows it 20
            # times a day, 30 s apart: a token refused again right after a forced refresh is not
            # forced again (the call fails instead of spending the day's quota in a loop).
            self._forced_at = time.monotonic()
            fetched = await self._stable_token(force_refresh=True)
        self._refused = None
        return fetched

    async def _stable_token(self, *, force_refresh: bool) -> FetchedToken:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
                "force_refresh": force_refresh}
        data = self._check("stable_token", await self._send("stable_token", "POST", "/cgi-bin/stable_token",
                                                            json=body), _COMMON)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise self._malformed("stable_token")
        return FetchedToken(token=token, expires_in=expires_in)

    async def _call_with_token(self, api: str, path: str, body: dict[str, Any], codes: ErrorMap
                               ) -> dict[str, Any]:
        token = await self.access_token()
        data = await self._send(api, "POST", path, params={"access_token": token}, json=body)
        if _errcode(data) in TOKEN_REFUSED:
            # Exactly one recovery: drop the token if no one has replaced it yet, refresh, retry once.
            log.warning("wechat %s errcode=%s: server token refused, refreshing once", api, _errcode(data))
            self._refused = token
            await self._tokens.invalidate(token)
            token = await self.access_token()
            data = await self._send(api, "POST", path, params={"access_token": token}, json=body)
        return self._check(api, data, codes)

    async def _send(self, api: str, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One request, retried once when WeChat answers errcode -1 (busy)."""
        data = await self._request(api, method, path, params, json)
        if _errcode(data) == BUSY:
            log.warning("wechat %s errcode=-1 (busy): retrying once", api)
            data = await self._request(api, method, path, params, json)
        return data

    def _session(self) -> aiohttp.ClientSession:
        http, loop = self._http, asyncio.get_running_loop()
        if http is None or http.closed or self._http_loop is not loop:
            # A session of another (finished) event loop cannot be used, nor closed, from this one.
            # certifi's roots, as httpx used: the same trust on every machine, whatever the system has.
            tls = ssl.create_default_context(cafile=certifi.where()) if self._base_url.startswith("https:") else True
            connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=KEEPALIVE_SECONDS, ssl=tls,
                                             enable_cleanup_closed=_ABORT_UNCLOSED_TLS)
            http = self._http = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            self._http_loop = loop
        return http

    async def _request(self, api: str, method: str, path: str, params: Mapping[str, str] | None,
                       json_body: Mapping[str, Any] | None) -> dict[str, Any]:
        # Serialised here, not by aiohttp: ensure_ascii=False sends Chinese text as UTF-8, as WeChat's
        # own examples do (msg_sec_check judges the text it is given).
        body = None if json_body is None else json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            # Redirects are not followed (nor were they by httpx): WeChat's APIs answer where they are asked.
            async with self._session().request(method, self._base_url + path, params=params, data=body,
                                               headers=_JSON if body is not None else None, proxy=self._proxy,
                                               allow_redirects=False) as response:
                status = response.status
                content = await response.read()
        # None chained: aiohttp's errors carry the URL, and with it the secrets.
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Never sent: no connection (refused, unresolvable) or none free within the timeout.
            log.warning("wechat %s unreachable: %s", api, type(exc).__name__)
            raise errors.WeChatUnavailable() from None
        except (aiohttp.SocketTimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                aiohttp.ClientResponseError) as exc:
            # Sent, and the answer is late, cut off or garbled: WeChat may have acted on it.
            log.warning("wechat %s unreachable: %s", api, type(exc).__name__)
            raise WeChatOutcomeUnknown() from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # A connection reset, a proxy's refusal: as httpx's ReadError and WriteError were.
            log.warning("wechat %s unreachable: %s", api, type(exc).__name__)
            raise errors.WeChatUnavailable() from None
        if status >= 500:
            log.warning("wechat %s answered HTTP %s", api, status)
            raise errors.WeChatUnavailable()
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if status != 200 or not isinstance(data, dict):
            log.error("wechat %s answered HTTP %s without a JSON object", api, status)
            raise errors.WeChatError()
        return data

    @staticmethod
    def _check(api: str, data: dict[str, Any], codes: ErrorMap) -> dict[str, Any]:
        code = _errcode(data)
        if code == 0:
            return data
        (log.error if code in _ALERT else log.warning)("wechat %s errcode=%s", api, code)
        raise (codes.get(code, errors.WeChatError) if code is not None else errors.WeChatError)()

    @staticmethod
    def _malformed(api: str) -> errors.AppError:
        log.error("wechat %s: answer lacks the expected fields", api)
        return errors.WeChatError()

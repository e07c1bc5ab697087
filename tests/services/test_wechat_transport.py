"""The WeChat client's HTTP transport against a server that misbehaves on cue: keep-alive, a server that
closes, chunked and cut-off bodies, garbled answers, a proxy. The stand-in (test_wechat.py) is a
well-behaved server; WeChat's front ends and the networks in between are not always."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app import errors
from app.config import DEV_WECHAT_APPID
from app.wechat import WeChatClient
from app.wechat.client import WeChatOutcomeUnknown, _env_proxy
from app.wechat.tokens import Fetch, TokenStore, _Cached
from models.base import utcnow

TIMEOUT = 0.5
SESSION = {"openid": "o" + "x" * 27, "session_key": "a2V5", "unionid": "u" + "y" * 27}
CHECK = {"errcode": 0, "errmsg": "ok", "result": {"suggest": "pass", "label": 100}}


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Request, asyncio.StreamWriter], Any]  # writes an answer; returns "close" to hang up


def ok(data: dict[str, Any], *, chunked: bool = False, close_header: bool = False) -> Answer:
    payload = json.dumps(data).encode()

    async def answer(_: Request, w: asyncio.StreamWriter) -> None:
        head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        if close_header:
            head += "connection: close\r\n"
        if chunked:
            half = len(payload) // 2
            w.write(f"{head}transfer-encoding: chunked\r\n\r\n".encode())
            for part in (payload[:half], payload[half:]):
                w.write(b"%x\r\n%s\r\n" % (len(part), part))
                await w.drain()
            w.write(b"0\r\n\r\n")
        else:
            w.write(f"{head}content-length: {len(payload)}\r\n\r\n".encode() + payload)
        return "close" if close_header else None

    return answer


def hang_up(_: Request, w: asyncio.StreamWriter) -> str:
    return "close"  # the request arrived; no answer at all


def cut_off(_: Request, w: asyncio.StreamWriter) -> str:
    w.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"errcode\":")
    return "close"


def garbled(_: Request, w: asyncio.StreamWriter) -> str:
    w.write(b"HTTP/1.1 two hundred\r\n\r\n")
    return "close"


async def silent(_: Request, w: asyncio.StreamWriter) -> None:
    await asyncio.sleep(TIMEOUT * 4)


@dataclass
class ScriptedServer:
    """A raw HTTP/1.1 server on a free port: each request gets the next scripted answer, and the
    connection stays open (kept alive) unless the answer hangs up."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    close_after_each: bool = False  # hang up right after every answer, without saying so
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await r.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                line, *lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
                body = await r.readexactly(int(headers.get("content-length", "0")))
                request = Request(line, headers, body)
                self.requests.append(request)
                result = self.answers.pop(0)(request, w)
                if asyncio.iscoroutine(result):
                    result = await result
                await w.drain()
                if result == "close" or self.close_after_each:
                    return
        finally:
            w.close()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.server = await asyncio.start_server(scripted._serve, "127.0.0.1", 0)
    yield scripted
    scripted.server.close()


class FixedToken(TokenStore):
    """A server token that is always there: these tests are about the transport."""

    async def _shared_get(self, fetch: Fetch) -> _Cached:
        return _Cached("fixed-token", utcnow().replace(year=utcnow().year + 1))

    async def _shared_drop(self, token: str) -> None:
        pass


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[[str], WeChatClient]]:
    clients: list[WeChatClient] = []

    def make(base_url: str) -> WeChatClient:
        clients.append(WeChatClient(appid=DEV_WECHAT_APPID, secret="s", base_url=base_url, timeout_seconds=TIMEOUT,
                                    token_store=FixedToken(name="fixed", margin_seconds=0)))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_one_connection_is_kept_alive_for_many_calls(server, make_client) -> None:
    server.answers = [ok(SESSION), ok(CHECK), ok(SESSION)]
    wx = make_client(server.url)
    await wx.code2session("dev:a")
    await wx.msg_sec_check(content="你好", openid="o1")
    await wx.code2session("dev:b")
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced(server, make_client) -> None:
    server.close_after_each = True  # as a server whose keep-alive timer ran out
    server.answers = [ok(SESSION), ok(CHECK), ok(SESSION)]
    wx = make_client(server.url)
    await wx.code2session("dev:a")
    await asyncio.sleep(0.05)
    await wx.msg_sec_check(content="x", openid="o1")  # a POST: never resent, so it must not meet the dead one
    await asyncio.sleep(0.05)
    await wx.code2session("dev:b")
    assert server.connections == 3


async def test_connection_close_is_honoured_at_once(server, make_client) -> None:
    server.answers = [ok(SESSION, close_header=True), ok(CHECK, close_header=True), ok(SESSION)]
    wx = make_client(server.url)
    await wx.code2session("dev:a")
    await wx.msg_sec_check(content="x", openid="o1")
    await wx.code2session("dev:b")
    assert server.connections == 3


async def test_chunked_answers_are_read(server, make_client) -> None:
    server.answers = [ok(SESSION, chunked=True), ok(CHECK, chunked=True)]
    wx = make_client(server.url)
    assert (await wx.code2session("dev:a")).openid == SESSION["openid"]
    assert (await wx.msg_sec_check(content="x", openid="o1")).suggest == "pass"


async def test_json_bodies_carry_chinese_as_utf8(server, make_client) -> None:
    server.answers = [ok(CHECK)]
    await make_client(server.url).msg_sec_check(content="春城青年", openid="o1")
    sent = server.requests[0]
    assert sent.headers["content-type"] == "application/json"
    assert "春城青年".encode() in sent.body  # not \\u6625…: the text check reads what it is sent
    assert json.loads(sent.body)["content"] == "春城青年"


@pytest.mark.parametrize("answer", [hang_up, cut_off, garbled, silent], ids=lambda a: a.__name__)
async def test_a_send_whose_answer_is_lost_is_outcome_unknown(server, make_client, answer: Answer) -> None:
    """WeChat may have acted on it: the notification worker must not send it again."""
    server.answers = [answer]
    with pytest.raises(WeChatOutcomeUnknown):
        await make_client(server.url).send_subscribe(touser="o1", template_id="t", data={"thing1": "x"})
    assert len(server.requests) == 1


async def test_a_login_call_cut_off_before_its_answer_is_asked_again_once(server, make_client) -> None:
    """aiohttp resends a GET once when the connection ends before an answer (RFC 9112 9.3.1), which is
    what a server's closing an idle connection looks like. A code WeChat did use answers 40163 then."""
    server.answers = [hang_up, ok(SESSION)]
    assert (await make_client(server.url).code2session("dev:a")).openid == SESSION["openid"]
    assert server.connections == 2

    server.answers = [hang_up, hang_up]
    with pytest.raises(errors.WeChatUnavailable):
        await make_client(server.url).code2session("dev:b")


async def test_a_slow_login_call_times_out(server, make_client) -> None:
    server.answers = [silent]
    with pytest.raises(errors.WeChatUnavailable):
        await make_client(server.url).code2session("dev:a")


async def test_an_http_error_page_is_not_json(server, make_client) -> None:
    async def redirect(_: Request, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/\r\ncontent-length: 0\r\n\r\n")

    server.answers = [redirect]
    with pytest.raises(errors.WeChatError) as caught:
        await make_client(server.url).code2session("dev:a")
    assert type(caught.value) is errors.WeChatError  # not followed, not retried: a wrong answer


async def test_the_proxy_named_in_the_environment_is_used(server, make_client, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.answers = [ok(SESSION)]
    await make_client("http://wechat.invalid").code2session("dev:a")
    assert server.requests[0].line.startswith("GET http://wechat.invalid/sns/jscode2session?")


def test_no_proxy_exempts_wechat(monkeypatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert _env_proxy("https://api.weixin.qq.com") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert _env_proxy("https://api.weixin.qq.com") == "http://proxy.example:3128"
    assert _env_proxy("http://127.0.0.1:8790") is None  # HTTPS_PROXY is for https only
    monkeypatch.setenv("NO_PROXY", ".qq.com")
    assert _env_proxy("https://api.weixin.qq.com") is None

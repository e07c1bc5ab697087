"""The real WeChat client, over real HTTP, against the stand-in (app.wechat.standin) on a free port."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import DEV_WECHAT_APPID, DEV_WECHAT_SECRET, Settings, get_settings
from app.db import get_sessionmaker, make_engine
from app.wechat import SecCheck, WeChatClient, WxPhone
from app.wechat import client as client_module
from app.wechat.client import TOKEN_REFUSED
from app.wechat.standin import OLD_TOKEN_GRACE, StandinServer, openid_for, start_standin_if_free
from app.wechat.tokens import DbTokenStore, FetchedToken, RedisTokenStore, TokenStore
from models.platform import ServiceToken

APPID = DEV_WECHAT_APPID
SECRET = DEV_WECHAT_SECRET
TIMEOUT = 0.5
Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer(appid=APPID, secret=SECRET, port=0) as server:
        yield server


@pytest.fixture
async def hooks(standin: StandinServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the stand-in's /_standin/ hooks; every test starts from a reset stand-in."""
    async with httpx.AsyncClient(base_url=standin.url) as http:
        (await http.post("/_standin/reset")).raise_for_status()
        yield http


async def stats(hooks: httpx.AsyncClient) -> dict[str, Any]:
    return (await hooks.get("/_standin/stats")).json()


async def behave(hooks: httpx.AsyncClient, **behaviour: Any) -> None:
    (await hooks.post("/_standin/behaviour", json=behaviour)).raise_for_status()


async def force_refresh_elsewhere(hooks: httpx.AsyncClient) -> None:
    """Another environment sharing the appid forces a new token; ours ends 5 minutes later (pitfall 2),
    which the stand-in's clock is moved past."""
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": True}
    assert "access_token" in (await hooks.post("/cgi-bin/stable_token", json=body)).json()
    await behave(hooks, clock_offset_seconds=OLD_TOKEN_GRACE + 1)


@pytest.fixture
async def sessionmakers(db_url: str) -> AsyncIterator[Callable[[], Sessionmaker]]:
    """Each call gives a sessionmaker on its own engine, as another process would have."""
    engines: list[AsyncEngine] = []

    def make() -> Sessionmaker:
        engines.append(make_engine(get_settings(), db_url))
        return async_sessionmaker(engines[-1], class_=AsyncSession, expire_on_commit=False)

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.fixture
def store_name() -> str:
    # Unique per test: the stand-in forgets its tokens on reset, a shared database does not.
    return f"wechat:{APPID}:{uuid.uuid4().hex[:12]}"


MakeClient = Callable[..., WeChatClient]


@pytest.fixture
async def make_client(standin: StandinServer, hooks: httpx.AsyncClient,
                      sessionmakers: Callable[[], Sessionmaker], store_name: str
                      ) -> AsyncIterator[MakeClient]:
    """Clients built like separate processes: each its own HTTP client, engine and in-process token copy,
    all sharing one token row."""
    clients: list[WeChatClient] = []

    def make(*, store: TokenStore | None = None, secret: str = SECRET, base_url: str | None = None
             ) -> WeChatClient:
        store = store or DbTokenStore(name=store_name, margin_seconds=300, sessionmaker=sessionmakers())
        client = WeChatClient(appid=APPID, secret=secret, base_url=base_url or standin.url,
                              timeout_seconds=TIMEOUT, token_store=store)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def wx(make_client: MakeClient) -> WeChatClient:
    return make_client()


async def fetch_count(sessionmaker: Sessionmaker, name: str) -> int:
    async with sessionmaker() as session:
        row = await session.get(ServiceToken, name)
        assert row is not None
        return row.fetch_count


# --- login -----------------------------------------------------------------------------------------

async def test_login_gives_openid_and_keeps_session_key_out_of_repr(wx: WeChatClient) -> None:
    session = await wx.code2session("dev:alice")
    assert session.openid == openid_for("alice")
    assert len(session.openid) == 28
    assert session.unionid
    assert session.session_key
    assert session.session_key not in repr(session)


async def test_same_name_same_openid(wx: WeChatClient) -> None:
    first = await wx.code2session("dev:bob:1")
    again = await wx.code2session("dev:bob:2")
    other = await wx.code2session("dev:carol")
    assert first.openid == again.openid
    assert other.openid != first.openid


async def test_code_reuse_is_code_used(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await wx.code2session("dev:dave:x")
    with pytest.raises(errors.WeChatCodeUsed):
        await wx.code2session("dev:dave:x")
    assert (await stats(hooks))["calls"]["/sns/jscode2session"] == 2  # no retry on a used code


@pytest.mark.parametrize("code", ["", "garbage", "dev:", "phone:13800138000"])
async def test_garbage_code_is_code_invalid(wx: WeChatClient, code: str) -> None:
    with pytest.raises(errors.WeChatCodeInvalid):
        await wx.code2session(code)


async def test_risky_user_is_refused(wx: WeChatClient) -> None:
    with pytest.raises(errors.WeChatRiskyUser):
        await wx.code2session("dev:risky_eve")


async def test_wrong_secret_is_a_wechat_error(make_client: MakeClient) -> None:
    with pytest.raises(errors.WeChatError):
        await make_client(secret="not-the-secret").code2session("dev:frank")


async def test_busy_is_retried_once(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await behave(hooks, busy_once=True)
    session = await wx.code2session("dev:grace")
    assert session.openid == openid_for("grace")
    counts = await stats(hooks)
    assert counts["calls"]["/sns/jscode2session"] == 2
    assert counts["logins"] == 1


async def test_down_is_unavailable(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await behave(hooks, down=True)
    with pytest.raises(errors.WeChatUnavailable):
        await wx.code2session("dev:heidi")


async def test_slow_answer_is_unavailable(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await behave(hooks, delay_seconds=TIMEOUT * 4)
    with pytest.raises(errors.WeChatUnavailable):
        await wx.code2session("dev:ivan")


async def test_unreachable_host_is_unavailable(make_client: MakeClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: refused
        with pytest.raises(errors.WeChatUnavailable):
            await make_client(base_url=closed).code2session("dev:judy")


# --- phone numbers ---------------------------------------------------------------------------------

async def test_phone_number(wx: WeChatClient) -> None:
    phone = await wx.get_phone_number("phone:13800138000")
    assert phone == WxPhone(phone_number="13800138000", pure_phone_number="13800138000", country_code="86")


@pytest.mark.parametrize("code", ["garbage", "dev:alice", "phone:"])
async def test_bad_phone_code(wx: WeChatClient, code: str) -> None:
    with pytest.raises(errors.WeChatPhoneCodeInvalid):
        await wx.get_phone_number(code)


async def test_phone_code_works_once(wx: WeChatClient) -> None:
    await wx.get_phone_number("phone:13900139000:a")
    with pytest.raises(errors.WeChatPhoneCodeInvalid):
        await wx.get_phone_number("phone:13900139000:a")


# --- content checks --------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "verdict"), [
    ("周末一起去滇池骑车", SecCheck("pass", 100)),
    ("this is risky stuff", SecCheck("risky", 20006)),
    ("线上赌博，日赚千元", SecCheck("risky", 20006)),
    ("这条待审", SecCheck("review", 21000)),
    ("please review me", SecCheck("review", 21000)),
])
async def test_msg_sec_check_verdicts(wx: WeChatClient, content: str, verdict: SecCheck) -> None:
    assert await wx.msg_sec_check(content=content, openid=openid_for("alice")) == verdict


# --- subscribe messages ----------------------------------------------------------------------------

async def test_subscribe_send_truncates_thing_values(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    title = "春城青年志愿服务活动报名成功通知请准时参加活动"  # 23 characters
    await wx.send_subscribe(touser=openid_for("alice"), template_id="tmpl-1",
                            data={"thing1": title, "time2": "2026-12-01 10:00"}, page="pages/event?id=7")
    sent = await stats(hooks)
    assert sent["message_count"] == 1
    message = sent["messages"][0]
    value = message["data"]["thing1"]["value"]
    assert len(value) == 20
    assert value == title[:19] + "…"
    assert message["data"]["time2"] == {"value": "2026-12-01 10:00"}
    assert (message["touser"], message["page"], message["miniprogram_state"]) == (
        openid_for("alice"), "pages/event?id=7", "developer")


async def test_subscribe_without_credit(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    with pytest.raises(errors.WeChatNoCredit):
        await wx.send_subscribe(touser="nocredit-user", template_id="tmpl-1", data={"thing1": "x"})
    assert (await stats(hooks))["message_count"] == 0


async def test_subscribe_bad_template_data(wx: WeChatClient) -> None:
    with pytest.raises(errors.WeChatBadTemplateData):
        await wx.send_subscribe(touser=openid_for("alice"), template_id="tmpl-1",
                                data={"phrase3": "超过五个汉字了"})


# --- the server token ------------------------------------------------------------------------------

async def test_token_fetched_once_for_concurrent_calls(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await asyncio.gather(*(wx.msg_sec_check(content=f"hello {i}", openid="o1") for i in range(20)))
    assert (await stats(hooks))["token_fetches"] == 1


async def test_token_shared_by_clients_with_their_own_engines(
        make_client: MakeClient, hooks: httpx.AsyncClient, sessionmakers: Callable[[], Sessionmaker],
        store_name: str) -> None:
    first, second = make_client(), make_client()
    await asyncio.gather(*(client.msg_sec_check(content=f"hi {i}", openid="o1")
                           for i in range(10) for client in (first, second)))
    assert await first.access_token() == await second.access_token()
    assert (await stats(hooks))["token_fetches"] == 1
    assert await fetch_count(sessionmakers(), store_name) == 1


async def test_refused_token_is_dropped_refreshed_and_retried_once(
        wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await wx.msg_sec_check(content="hello", openid="o1")
    old = await wx.access_token()
    await force_refresh_elsewhere(hooks)
    assert (await wx.msg_sec_check(content="hello again", openid="o1")).suggest == "pass"
    assert await wx.access_token() != old
    counts = await stats(hooks)
    assert counts["calls"]["/wxa/msg_sec_check"] == 3  # the first call, the refused one, its retry
    assert counts["token_fetches"] == 3  # ours, the other environment's, our one refresh


async def test_compare_and_drop_keeps_a_newer_token(
        make_client: MakeClient, hooks: httpx.AsyncClient, sessionmakers: Callable[[], Sessionmaker],
        store_name: str) -> None:
    first, second = make_client(), make_client()
    await first.msg_sec_check(content="a", openid="o1")
    await second.msg_sec_check(content="b", openid="o1")
    await force_refresh_elsewhere(hooks)
    await first.msg_sec_check(content="c", openid="o1")  # drops the shared token, fetches the new one
    await second.msg_sec_check(content="d", openid="o1")  # its refused copy is older: the row stays
    counts = await stats(hooks)
    assert counts["token_fetches"] == 3
    assert counts["calls"]["/wxa/msg_sec_check"] == 6
    assert await fetch_count(sessionmakers(), store_name) == 2


async def test_token_refused_again_is_not_retried_forever(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    await behave(hooks, reject_tokens=True)
    with pytest.raises(errors.WeChatError):
        await wx.msg_sec_check(content="hello", openid="o1")
    counts = await stats(hooks)
    assert counts["calls"]["/wxa/msg_sec_check"] == 2
    # Ours; a refresh that returned the refused token again; the forced refresh that replaced it.
    assert counts["token_fetches"] == 3


class CountingFetch:
    """Stands in for WeChat's stable_token when testing a store on its own."""

    def __init__(self, expires_in: int) -> None:
        self.expires_in = expires_in
        self.calls = 0

    async def __call__(self) -> FetchedToken:
        self.calls += 1
        return FetchedToken(token=f"token-{self.calls}", expires_in=self.expires_in)


async def test_store_refreshes_within_the_margin(sessionmakers: Callable[[], Sessionmaker], store_name: str
                                                 ) -> None:
    store = DbTokenStore(name=store_name, margin_seconds=300, sessionmaker=sessionmakers())
    long_lived, short_lived = CountingFetch(7200), CountingFetch(200)
    assert await store.get(long_lived) == await store.get(long_lived) == "token-1"
    assert long_lived.calls == 1
    await store.invalidate("token-1")
    assert await store.get(short_lived) == "token-1"
    assert await store.get(short_lived) == "token-2"  # within 300 s of expiry: refreshed early
    assert short_lived.calls == 2


async def test_store_outage_falls_back_to_the_in_process_copy(tmp_path: Any) -> None:
    engine = make_engine(get_settings(), f"sqlite+aiosqlite:///{tmp_path}/missing/dir/tokens.db")
    store = DbTokenStore(name="wechat:down", margin_seconds=300,
                         sessionmaker=async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False))
    fetch = CountingFetch(7200)
    try:
        assert await store.get(fetch) == "token-1"
        assert await store.get(fetch) == "token-1"
        assert fetch.calls == 1
        await store.invalidate("token-1")  # logged, not raised
        assert await store.get(fetch) == "token-2"
    finally:
        await engine.dispose()


async def test_store_does_not_stall_behind_this_process_sqlite_write_lock(store_name: str) -> None:
    if not get_settings().is_sqlite:
        pytest.skip("SQLite only: one write lock for the whole database")
    store = DbTokenStore(name=store_name, margin_seconds=300)  # on the app's database, like production
    fetch = CountingFetch(7200)
    try:
        async with get_sessionmaker()() as request_session, request_session.begin():
            await request_session.connection()  # BEGIN IMMEDIATE: holds the lock, as a request calling WeChat does
            # Generous bound: what matters is not waiting out the app engine's 30 s busy timeout.
            assert await asyncio.wait_for(store.get(fetch), timeout=10) == "token-1"
    finally:
        await store.aclose()


def test_second_standin_on_a_taken_port_is_not_started(standin: StandinServer) -> None:
    settings = Settings(wechat_standin_host=standin.host, wechat_standin_port=standin.port)
    assert start_standin_if_free(settings) is None


# --- Redis as the shared store ---------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
async def redis_stores(store_name: str) -> AsyncIterator[Callable[[], RedisTokenStore]]:
    stores: list[RedisTokenStore] = []

    def make() -> RedisTokenStore:
        stores.append(RedisTokenStore(url=REDIS_URL, name=store_name, margin_seconds=300, lock_seconds=3))
        return stores[-1]

    async with Redis.from_url(REDIS_URL) as admin:
        try:
            await admin.ping()
        except RedisError as exc:
            pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
        yield make
        for store in stores:
            await store.aclose()
        await admin.delete(store_name, f"{store_name}:lock")


async def test_redis_store_shares_the_token_and_drops_only_a_matching_one(
        make_client: MakeClient, hooks: httpx.AsyncClient, redis_stores: Callable[[], RedisTokenStore]
) -> None:
    first, second = make_client(store=redis_stores()), make_client(store=redis_stores())
    await asyncio.gather(*(client.msg_sec_check(content=f"hi {i}", openid="o1")
                           for i in range(10) for client in (first, second)))
    assert (await stats(hooks))["token_fetches"] == 1
    await force_refresh_elsewhere(hooks)
    await first.msg_sec_check(content="c", openid="o1")
    await second.msg_sec_check(content="d", openid="o1")
    assert (await stats(hooks))["token_fetches"] == 3


# --- the stand-in behaves as WeChat does (checked against an independent SDK) -----------------------


async def _token_from(hooks: httpx.AsyncClient, api: str, **extra: Any) -> dict[str, Any]:
    if api == "token":
        params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        return (await hooks.get("/cgi-bin/token", params=params)).json()
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **extra}
    return (await hooks.post("/cgi-bin/stable_token", json=body)).json()


async def _works(hooks: httpx.AsyncClient, token: str) -> int:
    body = {"version": 2, "openid": "o1", "scene": 3, "content": "hello"}
    answer = (await hooks.post("/wxa/msg_sec_check", params={"access_token": token}, json=body)).json()
    return answer.get("errcode", 0)


async def test_token_and_stable_token_are_separate_pools(hooks: httpx.AsyncClient) -> None:
    stable = (await _token_from(hooks, "stable"))["access_token"]
    for _ in range(3):  # fetches from the other pool, with time passing, never touch this one
        plain = (await _token_from(hooks, "token"))["access_token"]
        await behave(hooks, clock_offset_seconds=(await stats(hooks))["token_fetches"] * 400)
    assert await _works(hooks, stable) == 0
    assert (await _token_from(hooks, "stable"))["access_token"] == stable
    assert await _works(hooks, plain) == 0


@pytest.mark.parametrize("api", ["token", "stable"])
async def test_the_old_token_works_five_minutes_after_a_refresh(hooks: httpx.AsyncClient, api: str) -> None:
    old = (await _token_from(hooks, api))["access_token"]
    new = (await _token_from(hooks, api, **({"force_refresh": True} if api == "stable" else {})))["access_token"]
    assert new != old
    await behave(hooks, clock_offset_seconds=OLD_TOKEN_GRACE - 10)
    assert await _works(hooks, old) == 0 and await _works(hooks, new) == 0
    await behave(hooks, clock_offset_seconds=OLD_TOKEN_GRACE + 1)
    assert await _works(hooks, old) in TOKEN_REFUSED and await _works(hooks, new) == 0


async def test_force_refresh_is_limited_to_twenty_a_day_thirty_seconds_apart(hooks: httpx.AsyncClient) -> None:
    assert "access_token" in await _token_from(hooks, "stable", force_refresh=True)
    assert (await _token_from(hooks, "stable", force_refresh=True))["errcode"] == 45011
    for i in range(1, 20):
        await behave(hooks, clock_offset_seconds=31 * i)
        assert "access_token" in await _token_from(hooks, "stable", force_refresh=True), i
    await behave(hooks, clock_offset_seconds=31 * 20)
    assert (await _token_from(hooks, "stable", force_refresh=True))["errcode"] == 45009
    assert "access_token" in await _token_from(hooks, "stable")  # the ordinary mode is not limited
    await behave(hooks, clock_offset_seconds=86400 + 31 * 20)
    assert "access_token" in await _token_from(hooks, "stable", force_refresh=True)


async def test_errors_carry_a_request_id_and_a_missing_code_is_41008(hooks: httpx.AsyncClient) -> None:
    params = {"appid": APPID, "secret": SECRET, "grant_type": "authorization_code"}
    missing = (await hooks.get("/sns/jscode2session", params=params)).json()
    assert missing["errcode"] == 41008
    bad = (await hooks.get("/sns/jscode2session", params={**params, "js_code": "nope"})).json()
    for answer in (missing, bad):
        message, _, rid = answer["errmsg"].partition(", rid: ")
        assert message and len(rid.split("-")) == 3, answer


async def test_our_client_maps_a_missing_code(wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    with pytest.raises(errors.WeChatCodeInvalid):
        await wx.code2session("")
    with pytest.raises(errors.WeChatPhoneCodeInvalid):
        await wx._call_with_token("getuserphonenumber", "/wxa/business/getuserphonenumber", {"code": ""},
                                  client_module._PHONE)


async def test_our_client_does_not_spend_the_forced_refreshes_in_a_loop(
        wx: WeChatClient, hooks: httpx.AsyncClient) -> None:
    """Refused again right after a forced refresh: the call fails; it does not force again at once."""
    await behave(hooks, reject_tokens=True)
    for _ in range(3):
        with pytest.raises(errors.WeChatError):
            await wx.msg_sec_check(content="hello", openid="o1")
    assert (await stats(hooks))["forced_refreshes"] == 1


async def test_face_verification_result(wx: WeChatClient) -> None:
    from app.wechat.standin import openid_for

    result = await wx.face_identify_result("face:alice:530102199303031318:张三:n1")
    assert result.identify_ret == 0 and result.openid == openid_for("alice")
    with pytest.raises(errors.WeChatFaceResultInvalid):
        await wx.face_identify_result("face:alice:530102199303031318:张三:n1")  # once only
    assert (await wx.face_identify_result("face:noface1:530102199303031318:张三")).identify_ret != 0

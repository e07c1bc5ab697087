"""The WeChat server APIs: one client per process, built from the settings on first use."""

from __future__ import annotations

from app.config import get_settings
from app.wechat.client import SecCheck, WeChatClient, WxPhone, WxSession

__all__ = ["SecCheck", "WeChatClient", "WxPhone", "WxSession", "close_wechat_client", "get_wechat_client"]

_client: WeChatClient | None = None


def get_wechat_client() -> WeChatClient:
    global _client
    if _client is None:
        _client = WeChatClient.from_settings(get_settings())
    return _client


async def close_wechat_client() -> None:
    global _client
    client, _client = _client, None
    if client is not None:
        await client.aclose()

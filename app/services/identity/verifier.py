"""Strong identity verification behind one interface: WeChat's face verification (微信人脸核身), the
local stand-in answering it in development and tests, or none.

The mini-program calls ``wx.startFacialRecognitionVerify({name, idCardNumber})``; WeChat compares the
face with the photo the public-security register holds for that name and number and hands the
mini-program a ``verify_result``. The server redeems it (``/cityservice/face/identify/getinfo``) for
the outcome, the WeChat user it concerns and MD5 digests of the name and number that were checked.
A verification counts only when all of them agree with the account and the identity being bound.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from app.config import settings_of
from app.services.identity.errors import IdentityVerifierUnavailable
from app.services.identity.settings import IdentitySettings
from app.wechat import get_wechat_client


class IdentityVerifier(Protocol):
    async def confirms(self, *, openid: str | None, real_name: str, id_number: str, evidence: str) -> bool:
        """Whether ``evidence`` proves that the person behind ``openid`` holds this name and number."""


def md5_hex(value: str) -> str:
    return hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()


class WeChatFaceVerifier:
    async def confirms(self, *, openid: str | None, real_name: str, id_number: str, evidence: str) -> bool:
        if not openid:
            return False
        result = await get_wechat_client().face_identify_result(evidence)
        return (result.identify_ret == 0 and result.openid == openid
                and result.id_card_number_md5.lower() == md5_hex(id_number)
                and result.name_utf8_md5.lower() == md5_hex(real_name))


class NoVerifier:
    async def confirms(self, *, openid: str | None, real_name: str, id_number: str, evidence: str) -> bool:
        raise IdentityVerifierUnavailable()


def get_verifier() -> IdentityVerifier:
    if settings_of(IdentitySettings).identity_verifier == "wechat_face":
        return WeChatFaceVerifier()
    return NoVerifier()

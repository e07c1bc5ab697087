"""How identities are verified (see the README's security section)."""

from typing import Literal

from app.config import ServiceSettings


class IdentitySettings(ServiceSettings):
    # WeChat's face verification (微信人脸核身, for categories that may use it): the mini-program runs
    # wx.startFacialRecognitionVerify and sends its verify_result; "none" where the category may not.
    identity_verifier: Literal["wechat_face", "none"] = "wechat_face"
    # Every binding must come with a face verification (no self-declared numbers at all).
    identity_require_verification: bool = False

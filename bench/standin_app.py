"""The WeChat stand-in as its own server process for the bench (``uvicorn bench.standin_app:app``).

Its state is in memory, so it runs as one process that every API worker talks to over HTTP, as they
would talk to WeChat; its ``/_standin/stats`` counts the server-token fetches of all of them.
"""

from app.config import get_settings
from app.wechat.standin import create_standin_app

_settings = get_settings()
app = create_standin_app(_settings.wechat_appid, _settings.wechat_secret.get_secret_value())

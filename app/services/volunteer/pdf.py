"""The certificate as a PDF: Typst with Debian's WenQuanYi Micro Hei (TrueType, 1.6 MB) and a QR code
of the public verification link drawn by segno as SVG.

The data goes in as JSON through ``sys.inputs`` and the template prints it as text, so a name or a
project title can never inject Typst markup. One compiler is kept per process (loading the font is
most of the first render's cost); renders take a lock because the compiler keeps state between
calls, and run in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.services.volunteer import errors as verr
from app.services.volunteer.settings import settings

log = logging.getLogger(__name__)
TEMPLATE = Path(__file__).with_name("templates") / "certificate.typ"
FONT_FAMILY = "WenQuanYi Micro Hei"
_lock = threading.Lock()


@lru_cache
def _compiler(font_paths: tuple[str, ...]) -> Any:
    import typst

    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=list(font_paths))
    if FONT_FAMILY not in fonts.families():
        # Without the CJK font Typst would draw empty boxes: refuse rather than hand out such a paper.
        log.error("certificate font %r not found in %s (install fonts-wqy-microhei)", FONT_FAMILY, font_paths)
        raise verr.PdfUnavailable()
    return typst.Compiler(TEMPLATE, font_paths=fonts, ignore_system_fonts=True)


def qr_svg(text: str) -> str:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", border=2, scale=4, xmldecl=False)
    return buf.getvalue().decode()


def render_sync(certificate: dict[str, Any]) -> bytes:
    compiler = _compiler(tuple(settings().volunteer_font_paths))
    inputs = {"certificate": json.dumps(certificate, ensure_ascii=False), "qr": qr_svg(certificate["verify_url"])}
    with _lock:
        pdf = compiler.compile(format="pdf", sys_inputs=inputs)
    assert isinstance(pdf, bytes)
    return pdf


async def render(certificate: dict[str, Any]) -> bytes:
    try:
        return await asyncio.to_thread(render_sync, certificate)
    except verr.PdfUnavailable:
        raise
    except Exception:
        log.exception("certificate PDF failed to render")
        raise verr.PdfUnavailable()

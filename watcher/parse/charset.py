"""The encoding of an HTML page: the HTTP charset, a BOM, ``<meta charset>``, UTF-8 when valid,
then a guess (charset-normalizer). Legacy pages in EUC-KR or windows-1251 read correctly; the
WHATWG label mapping gives the superset codec for the legacy names that matter here.

    text, codec = decode_html(result.body, result.headers)
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

# WHATWG encoding label mapping for the legacy names that matter here: the superset codec.
_CODEC_FOR_LABEL = {
    "euc-kr": "cp949",
    "euckr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "korean": "cp949",
    "x-windows-949": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "koi8-r": "koi8_r",
    "x-cp1251": "cp1251",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))  # fmt: skip


def codec_for(label: str) -> str | None:
    """The Python codec for an encoding label (WHATWG supersets for legacy ones), or None."""
    low = label.strip().strip("\"'").lower()
    if not low:
        return None
    name = _CODEC_FOR_LABEL.get(low, low)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def detect_encoding(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The codec to read an HTML ``body`` with: BOM, HTTP charset, ``<meta>``, UTF-8, guess."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    content_type = ""
    for k, v in (headers or {}).items():
        if k.lower() == "content-type":
            content_type = v
    m = _HEADER_CHARSET.search(content_type)
    if m and (codec := codec_for(m.group(1))):
        return codec
    m2 = _META_CHARSET.search(body[:8192])
    if m2 and (codec := codec_for(m2.group(1).decode("ascii", "replace"))):
        # A page that says utf-16 in ASCII bytes is not utf-16 (WHATWG: read as utf-8).
        return "utf-8" if codec.startswith("utf-16") else codec
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    if best is not None and (codec := codec_for(best.encoding)):
        return codec
    return "cp1252"


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(text, codec)``: the page decoded (bad bytes replaced, never an exception)."""
    codec = detect_encoding(body, headers)
    text = body.decode(codec, errors="replace")
    return text.removeprefix("\ufeff"), codec

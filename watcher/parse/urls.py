"""Canonical URLs: one spelling per page, so the same article is recognised across sources."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that only track who clicked where; removed from canonical URLs.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "yclid",
        "msclkid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "ref_src",
        "ref_url",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "rb_clickid",
        "s_cid",
        "_ga",
        "_gl",
        "wt_mc",
        "wt.mc_id",
        "at_medium",
        "at_campaign",
        "ocid",
        "cmpid",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Redirect wrappers whose real target is in a query parameter (Google Alerts, Google News).
_WRAPPERS = {("www.google.com", "/url"): "url", ("google.com", "/url"): "url"}


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str, base: str = "") -> str:
    """The canonical form of ``url`` (resolved against ``base`` when relative).

    Lower-case scheme and host, no default port, no fragment, no user info, no tracking
    parameters (``utm_*``, ``fbclid``, ``gclid``, ...), the remaining query parameters sorted,
    an empty path as ``/``. Google redirect links (``google.com/url?url=...``) are unwrapped.
    Returns "" for an empty or unusable URL; non-http(s) URLs are returned stripped only.
    """
    url = (url or "").strip()
    if not url:
        return ""
    if base and not url.startswith(("http://", "https://")):
        try:
            url = urljoin(base, url)
        except ValueError:
            return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return ""
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        host = host.lower()
    wrapped = _WRAPPERS.get((host, parts.path))
    if wrapped:
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k == wrapped and v.startswith(("http://", "https://")):
                return canonical_url(v)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    # Keep each remaining parameter exactly as written (encoding, a bare "?123"), sorted.
    kept = sorted(
        piece
        for piece in parts.query.split("&")
        if piece and not is_tracking_param(unquote_plus(piece.split("=", 1)[0]))
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))

"""HTML to plain text and canonical URLs: tables of inputs and expected outputs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.parse import canonical_url, html_to_text

TEXT_CASES = [
    ("", ""),
    ("plain   text\n with\tspaces ", "plain text with spaces"),
    ("<p>Hello&nbsp;<b>wor</b>ld</p><p>Second<br>line</p>", "Hello world Second line"),
    ("AT&amp;T &lt;tag&gt; &#8220;quoted&#8221; &eacute;", "AT&T <tag> “quoted” é"),
    ("<script>alert(1)</script><style>p{}</style>Visible", "Visible"),
    ("<div><ul><li>one</li><li>two</li></ul></div>", "one two"),
    ("zero\u200bwidth\ufeff soft\u00adhyphen", "zerowidth softhyphen"),
    (
        "Северная Корея <i>депортировала</i> перебежчиков",
        "Северная Корея депортировала перебежчиков",
    ),
    ("<p>북한 <b>탈북민</b> 강제북송</p>", "북한 탈북민 강제북송"),
    ("<img src=x alt=photo>Caption", "Caption"),
    ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
    ("<![CDATA[x]]>text", "text"),
    ("a<br/>b", "a b"),
    ("ctrl\x00\x07chars", "ctrlchars"),
]


@pytest.mark.parametrize(("html", "text"), TEXT_CASES)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@given(st.text())
def test_html_to_text_never_fails_and_is_clean(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip() and "  " not in text and "\n" not in text


URL_CASES = [
    ("HTTP://Example.COM:80/Path?b=2&a=1#frag", "", "http://example.com/Path?a=1&b=2"),
    ("https://example.com:443", "", "https://example.com/"),
    ("https://example.com:8443/x", "", "https://example.com:8443/x"),
    (
        "https://ex.org/a?utm_source=rss&utm_medium=feed&id=5&fbclid=abc&gclid=1",
        "",
        "https://ex.org/a?id=5",
    ),
    ("https://ex.org/a?yclid=1&mc_cid=2&mc_eid=3&_hsenc=4&ref_src=5&x=", "", "https://ex.org/a?x="),
    ("https://ex.org/article.php?12345", "", "https://ex.org/article.php?12345"),
    ("https://ex.org/s?q=a%20b&q=c", "", "https://ex.org/s?q=a%20b&q=c"),
    ("/news/1.html", "https://ex.org/feed.xml", "https://ex.org/news/1.html"),
    ("  https://ex.org/x  ", "", "https://ex.org/x"),
    ("https://user:pw@ex.org/x", "", "https://ex.org/x"),
    ("https://ex.org./x", "", "https://ex.org/x"),
    ("https://пример.рф/новости", "", "https://xn--e1afmkfd.xn--p1ai/новости"),
    (
        "https://www.google.com/url?rct=j&sa=t&url=https://www.nknews.org/2026/11/x/%3Futm_source%3Dg&ct=ga",
        "",
        "https://www.nknews.org/2026/11/x/",
    ),
    (
        "https://www.heise.de/a?wt_mc=rss.red.ho.ho.atom.beitrag.beitrag",
        "",
        "https://www.heise.de/a",
    ),
    ("mailto:x@example.org", "", "mailto:x@example.org"),
    ("", "", ""),
    ("http://[::1]:8080/x", "", "http://[::1]:8080/x"),
    ("http://ex.org:notaport/x", "", "http://ex.org:notaport/x"),
]


@pytest.mark.parametrize(("url", "base", "expected"), URL_CASES)
def test_canonical_url(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(("url", "base", "expected"), URL_CASES)
def test_canonical_url_is_idempotent(url: str, base: str, expected: str) -> None:
    assert canonical_url(expected) == expected

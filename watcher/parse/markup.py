"""What parsing a piece of HTML will cost, found before parsing it, in one linear pass.

An HTML5 tree builder (lexbor, behind selectolax) walks its stack of open elements for many
tags and re-opens unclosed formatting elements (``<b>``, ``<font>``...) before text. Both are
free on real markup and ruinous on hostile markup: 100,000 nested ``<div>`` take 37 s,
130 KB of unclosed ``<b a=N>`` re-opened in 10,000 blocks take 9 s. ``check_markup`` replays
the parts of the WHATWG tree construction that cost (the stack of open elements and the list
of active formatting elements: closing a ``<p>``, end tags, cells and list items, re-opening,
Noah's ark, foreign content and its break-outs) and adds up the work, stopping as soon as it
passes a budget proportional to the number of tags. Where the replay is unsure whether the
parser pops an element, it keeps it: it errs towards more work, never less. Markup over the
budget raises ``FetchError(MARKUP)``.

Units: one step of a stack walk (a few nanoseconds). lexbor spends about a hundred on an
ordinary tag and about five hundred re-creating a formatting element.
"""

from __future__ import annotations

import re
import string

from watcher.fetch.classify import markup_too_complex

STEP_BUDGET_PER_TAG = 200  # the stack walks may cost about twice the ordinary parse...
STEP_BUDGET_BASE = 20_000  # ...plus a few tens of microseconds for any fragment
CLONE_STEPS = 500  # re-creating one formatting element
_WALK = 64  # how far back the replay looks in the formatting list (further: keeps all)

_TOKEN = re.compile(
    r"<!--(?:-?>|.*?--!?>|.*)"  # comment: abrupt, closed, or running to the end
    r"|<[!?][^>]*>?"  # doctype, processing instruction, bogus comment
    r"|</([A-Za-z][^\t\n\f\r />]*)([^>]*)>?"  # end tag (it may have attributes)
    r"|<([A-Za-z][^\t\n\f\r />]*)([^>]*)>?",  # start tag and its attributes
    re.DOTALL,
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # as HTML lowers names
_RAW = _names("script style xmp iframe noembed noframes textarea title")
_VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param"
    " source track wbr"
)
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
_MARKERS = _names("applet caption marquee object td template th")
_INTEGRATION = _names("foreignobject desc title mi mo mn ms mtext annotation-xml")
# Scope boundaries of every kind, merged (a larger set only makes the replay keep more).
_BOUNDARY = _MARKERS | _INTEGRATION | _names("button html ol table ul")
_SPECIAL = _BOUNDARY | _names(
    "address area article aside base basefont bgsound blockquote body br center col colgroup"
    " dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1"
    " h2 h3 h4 h5 h6 head header hgroup hr iframe img input keygen li link listing main menu"
    " meta nav noembed noframes noscript p param plaintext pre script search section select"
    " source style summary tbody textarea tfoot th thead tr track wbr xmp"
)
_LI_BLOCKERS = _SPECIAL - {"address", "div", "p"}
_CLOSES_P = _names(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption"
    " figure footer header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5"
    " h6 pre listing form plaintext xmp hr li dd dt"
)
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
_IGNORED = _names("html head body frameset")
_TABLE_PARTS = _names("caption col colgroup tbody td tfoot th thead tr")
_CLOSES_PART = {"td": ("td", "th"), "th": ("td", "th"), "tr": ("tr",)}
_CLOSES_PART.update(dict.fromkeys(("tbody", "thead", "tfoot"), ("tbody", "thead", "tfoot")))
# Start tags that end foreign content (svg, math) and are read as HTML.
_BREAKOUT = _names(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i"
    " img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt"
    " u ul var"
)
_FONT_BREAKOUT = re.compile(r"\b(?:color|face|size)\b", re.I)
_RAW_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.I | re.A) for name in _RAW}
_FOREIGN = "\x00"  # prefix of a foreign element's name in ``at``: HTML rules never match it


class _Replay:
    """The tree builder's stack of open elements and formatting list, as far as they cost."""

    def __init__(self) -> None:
        self.stack: list[str] = []  # names; foreign elements prefixed with _FOREIGN
        self.entry_at: list[list[object] | None] = []  # each element's formatting entry
        self.at: dict[str, list[int]] = {}  # where each name is open, innermost last
        self.special: list[int] = []
        self.boundary: list[int] = []
        self.li_blockers: list[int] = []
        self.html: list[int] = []  # HTML elements (foreign content ends below the last)
        # formatting list: [name, attributes, stack index or -1 once popped]; None: marker
        self.afe: list[list[object] | None] = []
        self.steps = 0
        self.deepest = 0
        self.changes = 0  # elements pushed or popped: text after a change is a new node

    def top(self, name: str) -> int:
        found = self.at.get(name)
        return found[-1] if found else -1

    def last(self, group: list[int]) -> int:
        return group[-1] if group else -1

    def foreign(self) -> bool:
        """Is the current node a foreign element whose children are foreign too?"""
        return bool(self.stack) and self.last(self.html) < len(self.stack) - 1

    def push(self, name: str, entry: list[object] | None = None, foreign: bool = False) -> None:
        self.changes += 1
        i = len(self.stack)
        key = _FOREIGN + name if foreign else name
        self.stack.append(key)
        self.entry_at.append(entry)
        self.at.setdefault(key, []).append(i)
        integration = foreign and name in _INTEGRATION
        if integration or (not foreign and name not in ("svg", "math")):
            self.html.append(i)  # HTML rules apply to its children
        if name in _SPECIAL and (integration or not foreign):
            self.special.append(i)
            if name in _BOUNDARY:
                self.boundary.append(i)
            if name in _LI_BLOCKERS:
                self.li_blockers.append(i)
        if name in _MARKERS and not foreign:
            self.afe.append(None)
        self.deepest = max(self.deepest, i + 1)

    def pop_to(self, index: int) -> None:
        """Pop the element at ``index`` and every element above it."""
        while len(self.stack) > index:
            self.changes += 1
            key = self.stack.pop()
            entry = self.entry_at.pop()
            i = len(self.stack)
            self.at[key].pop()
            for group in (self.special, self.boundary, self.li_blockers, self.html):
                if group and group[-1] == i:
                    group.pop()
            if entry is not None:
                entry[2] = -1
            if key in _MARKERS:  # clear the formatting list back to the last marker
                while self.afe and self.afe.pop() is not None:
                    pass

    def reconstruct(self) -> None:
        """Re-open the formatting elements that something else closed (before text and most
        start tags): each costs a new element."""
        afe = self.afe
        if not afe or afe[-1] is None or afe[-1][2] != -1:
            return
        first = len(afe) - 1
        while first > 0 and (prev := afe[first - 1]) is not None and prev[2] == -1:
            first -= 1
        for entry in afe[first:]:
            assert entry is not None
            entry[2] = len(self.stack)
            self.push(str(entry[0]), entry)
            self.steps += CLONE_STEPS

    def find_entry(self, name: str) -> int:
        """The index of the last formatting entry named ``name`` after the last marker, or
        -1 (also when it is further back than the replay looks: the element stays open)."""
        for k in range(len(self.afe) - 1, max(-1, len(self.afe) - 1 - _WALK), -1):
            entry = self.afe[k]
            if entry is None:
                return -1
            if entry[0] == name:
                return k
        return -1

    def start(self, name: str, attrs: str) -> bool:
        """A start tag; True when its content is raw text (no tags in it)."""
        if self.foreign():
            breakout = name in _BREAKOUT or (name == "font" and _FONT_BREAKOUT.search(attrs))
            if not breakout:
                if not attrs.rstrip().endswith("/"):  # <path/> closes itself in svg
                    self.push(name, foreign=True)
                return False
            self.pop_to(self.last(self.html) + 1)
        if name in _IGNORED or (name in _TABLE_PARTS and self.top("table") < 0):
            return False  # merged into the existing element, or ignored outside a table
        self.close_before(name)
        if name in _VOID:
            return False
        if name in _FORMATTING:
            self.formatting(name, attrs)
        elif name in ("td", "th") and self.top("tr") < self.top("table"):
            self.push("tbody")  # a cell straight in a table implies its row group and row
            self.push("tr")
            self.push(name)
        else:
            self.push(name, foreign=name in ("svg", "math"))
        return name in _RAW

    def close_before(self, name: str) -> None:
        """What a start tag closes (or re-opens) before it is inserted."""
        if name in _CLOSES_PART:  # a new cell, row or row group closes the open one
            table = max(self.top("table"), self.top("template"))
            inner = max(self.top(n) for n in _CLOSES_PART[name])
            if inner > table:
                self.pop_to(inner)
        if name in ("li", "dd", "dt"):
            inner = self.top("li") if name == "li" else max(self.top("dd"), self.top("dt"))
            if inner > self.last(self.li_blockers):
                self.pop_to(inner)
        if name in _CLOSES_P:
            p = self.top("p")
            if p > self.last(self.boundary):
                self.pop_to(p)
            if name in _HEADINGS and self.stack and self.stack[-1] in _HEADINGS:
                self.pop_to(len(self.stack) - 1)
        elif name in ("option", "optgroup") and self.stack and self.stack[-1] == "option":
            self.pop_to(len(self.stack) - 1)
        elif name not in _SPECIAL or name in _MARKERS or name in _VOID:
            self.reconstruct()

    def formatting(self, name: str, attrs: str) -> None:
        if name == "a" and (k := self.find_entry("a")) >= 0:  # a new link closes the open one
            old = self.afe.pop(k)
            assert old is not None
            at = int(str(old[2]))
            if at >= 0 and at > self.last(self.special):
                self.pop_to(at)
            self.reconstruct()  # what the adoption closed above it opens again
        start = len(self.afe)
        while start > 0 and self.afe[start - 1] is not None and len(self.afe) - start < _WALK:
            start -= 1
        self.steps += len(self.afe) - start  # Noah's ark scans back to the last marker
        same = [
            k for k in range(start, len(self.afe)) if (e := self.afe[k]) and e[:2] == [name, attrs]
        ]
        if len(same) >= 3:  # at most three identical entries
            del self.afe[same[0]]
        entry: list[object] = [name, attrs, len(self.stack)]
        self.afe.append(entry)
        self.push(name, entry)

    def end(self, name: str) -> None:
        if self.foreign():  # a foreign element of that name above the last HTML one
            at = self.top(_FOREIGN + name)
            if at > self.last(self.html):
                self.pop_to(at)
                return
        if name in _IGNORED:
            return
        if name == "br":  # </br> is read as <br>
            self.start("br", "")
            return
        if name in _FORMATTING and (k := self.find_entry(name)) >= 0:
            entry = self.afe[k]
            assert entry is not None
            at = int(str(entry[2]))
            if at < 0:  # closed already: the parser drops the entry
                del self.afe[k]
            elif at > self.last(self.special):  # nothing special inside it: a plain close
                self.pop_to(at)
                del self.afe[k]
            return  # else the adoption agency moves elements (about as many stay open)
        self.end_other(name)

    def end_other(self, name: str) -> None:
        at = self.top(name)
        if at < 0:
            return
        if name in _TABLE_PARTS or name == "table":  # table scope: cells do not stop it
            if at > max(self.top("table") if name != "table" else -1, self.top("template")):
                self.pop_to(at)
        elif name in _SPECIAL:
            if at >= self.last(self.boundary):
                self.pop_to(at)
        elif at > self.last(self.special):
            self.pop_to(at)


def markup_steps(html: str, budget: int | None = None) -> tuple[int, int, int]:
    """``(steps, tags, deepest)``: the tree builder's work on ``html`` as the replay counts
    it, the tags read and the deepest stack. Stops early once ``steps`` passes ``budget``."""
    replay = _Replay()
    tags = pos = run = 0
    end = len(html)
    limit = -1 if budget is None else budget
    dirty = False  # a tag with attributes since the last text: lexbor copies a growing node
    changes = 0
    while pos < end:
        m = _TOKEN.search(html, pos)
        if m is None:
            break
        if m.start() > pos:  # text: re-opens closed formatting elements
            replay.reconstruct()
            if replay.changes != changes and replay.top("select") < 0:
                run = 0  # a new text node (in a <select>, most tags change nothing)
            elif dirty:
                replay.steps += run // 2
            run += m.start() - pos
            dirty, changes = False, replay.changes
        pos = m.end()
        tags += 1
        replay.steps += len(replay.stack)
        name, attrs = m.group(1) or m.group(3), m.group(2) or m.group(4)
        dirty = dirty or bool(attrs and attrs.strip("\t\n\f\r /")) or m.group(0)[1] in "!?"
        if m.group(1) is not None:
            replay.end(name.translate(_LOWER))
        elif m.group(3) is not None:
            name = name.translate(_LOWER)
            if replay.start(name, attrs):  # raw text: skip to its end tag
                closed = _RAW_END[name].search(html, pos)
                pos = closed.start() if closed else end
            elif name == "plaintext" and not replay.foreign():
                break
        elif html.startswith("<!--", m.start()):
            replay.changes += 1  # a comment node
        if 0 <= limit < replay.steps:
            break
    return replay.steps, tags, replay.deepest


def markup_budget(html: str) -> int:
    """The work allowed for ``html``: proportional to its tags (an upper bound: its "<")."""
    return STEP_BUDGET_BASE + STEP_BUDGET_PER_TAG * html.count("<")


def check_markup(html: str, what: str) -> None:
    """Raise ``FetchError(MARKUP)`` when parsing ``html`` would cost far more than its size
    warrants (deep nesting, formatting elements re-opened again and again); ``what`` names
    it in the message."""
    budget = markup_budget(html)
    steps, _tags, deepest = markup_steps(html, budget)
    if steps > budget:
        raise markup_too_complex(what, deepest)

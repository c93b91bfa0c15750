"""What a valid pattern of keywords.yaml is: one definition, used where the file is checked
(``watcher.rules.spec``) and where the patterns are compiled (``watcher.rules.compile``)."""

from __future__ import annotations

import re

from watcher.rules.normalize import is_hangul, is_word_char, normalize_pattern

MIN_PREFIX = 3  # letters before a '*'
# The automaton's trie is freed recursively, one C stack frame per character of a key:
# 600,000 characters overflow an 8 MiB stack (SIGSEGV when the rules are replaced or the
# process exits). Real terms are words and short phrases (the longest shipped: 41).
MAX_PATTERN_CHARS = 200
MAX_PATTERNS = 50_000  # distinct terms in one file (the shipped file has ~800, the bench 10,797)
# Bidi controls and other format or control characters: invisible, so a term holding one
# looks right and never matches.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def pattern_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a pattern, or None when it can."""
    text = raw.strip()
    if not text:
        return "is empty"
    if len(text) > MAX_PATTERN_CHARS:
        return (
            f"is {len(text):,} characters long: a term is a word or a short phrase"
            f" (at most {MAX_PATTERN_CHARS})"
        )
    if (bad := _INVISIBLE.search(text)) is not None:
        return f"holds the invisible character U+{ord(bad.group()):04X}: type the term again"
    if (hint := regex_hint(text)) is not None:
        return hint
    if "**" in text:
        return "'**' is not a pattern: use one '*' at the end of a word"
    words = text.split()
    for word in words:
        if "*" in word[:-1]:
            return "'*' is allowed only at the end of a word (for any ending)"
    prefix = text.endswith("*")
    key = normalize_pattern(text.replace("*", ""))
    if not key or not any(is_word_char(c) for c in key):
        return "has no letters or digits"
    for word in words:
        if word.endswith("*"):
            stem = normalize_pattern(word[:-1])
            if not stem or not is_word_char(stem[-1]):
                return "'*' must directly follow a letter"
    if prefix and len(key) < MIN_PREFIX and not any(is_hangul(c) for c in key):
        return f"needs at least {MIN_PREFIX} letters before '*' (it would match too much)"
    if len(key) > 2 * MAX_PATTERN_CHARS:
        return f"becomes {len(key):,} characters once normalised (at most {MAX_PATTERN_CHARS})"
    return None


_CLASS = re.compile(r"\[([^\]]*)\]")
_GROUP = re.compile(r"(\w*)\(([^()]*\|[^()]*)\)(\w*)")


def regex_hint(text: str) -> str | None:
    """What to write instead when ``text`` is a regular expression (terms are plain words
    matched whole, any case, ``*`` at the end for any ending): None when it is not one."""
    plain = "terms are words, not regular expressions"
    if m := _CLASS.search(text):
        inner = m.group(1)
        if len(inner) == 2 and inner[0].casefold() == inner[1].casefold() != inner[0]:
            fixed = _CLASS.sub(lambda c: c.group(1)[:1].lower(), text, count=1)
            return f"{plain}: matching ignores case, write {fixed!r}"
        return f"{plain}: [...] matches nothing; write each spelling as a term of its own"
    if m := _GROUP.search(text):
        stem, options, tail = m.group(1), m.group(2).split("|"), m.group(3)
        forms = [text[: m.start()] + stem + o + tail + text[m.end() :] for o in options]
        listed = ", ".join(repr(f) for f in forms)
        if len(stem) >= MIN_PREFIX and not tail and m.end() == len(text):
            return f"{plain}: write {text[: m.start()] + stem + '*'!r} (any ending) or {listed}"
        return f"{plain}: write each form as a term of its own: {listed}"
    if "|" in text:
        listed = ", ".join(repr(p.strip()) for p in text.split("|") if p.strip())
        return f"{plain}: write each one as a term of its own: {listed}"
    if "\\" in text:
        return f"{plain}: a backslash matches nothing; terms already match whole words"
    if m := re.search(r"(\w)\?", text):
        longer, shorter = text[: m.end() - 1] + text[m.end() :], text[: m.start()] + text[m.end() :]
        return f"{plain}: write both spellings as terms: {longer!r}, {shorter!r}"
    if (m := re.search(r"\.[*+]$", text)) and m.start() >= MIN_PREFIX:
        return f"{plain}: write {text[: m.start()] + '*'!r} for any ending"
    if re.search(r"\.[*+]|\w\+(?=\w|$)|\)[?*+]|\{\d+(?:,\d*)?\}|^\^|\$$", text):
        return f"{plain}: write the word itself, with '*' at its end for any ending"
    return None

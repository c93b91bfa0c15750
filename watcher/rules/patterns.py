"""What a valid pattern of keywords.yaml is: one definition, used where the file is checked
(``watcher.rules.spec``) and where the patterns are compiled (``watcher.rules.compile``)."""

from __future__ import annotations

from watcher.rules.normalize import is_hangul, is_word_char, normalize_pattern

MIN_PREFIX = 3  # letters before a '*'


def pattern_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a pattern, or None when it can."""
    text = raw.strip()
    if not text:
        return "is empty"
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
    return None

"""Places that reports about North Koreans in Russia and China name, in three languages.

Two reports naming different places (Vladivostok / Khabarovsk) are rarely the same development,
however similar their wording; a shared place with a shared number is a strong cross-language
signature. Aliases are matched as word prefixes, so inflected forms count.
"""

from __future__ import annotations

from watcher.stories.text import words

PLACES: dict[str, tuple[str, ...]] = {
    "pyongyang": ("pyongyang", "пхеньян", "평양"),
    "moscow": ("moscow", "москв", "모스크바"),
    "vladivostok": ("vladivostok", "владивосток", "블라디보스토크"),
    "khabarovsk": ("khabarovsk", "хабаровск", "하바롭스크"),
    "nakhodka": ("nakhodka", "находк", "나홋카"),
    "primorye": ("primorye", "приморь", "приморск", "연해주"),
    "amur": ("amur", "амурск", "приамурь", "아무르"),
    "kursk": ("kursk", "курск", "курщин", "쿠르스크"),
    "tatarstan": ("tatarstan", "alabuga", "татарстан", "алабуг", "타타르스탄", "알라부가"),
    "kyiv": ("kyiv", "kiev", "киев", "키이우"),
    "seoul": ("seoul", "сеул", "서울"),
    "wonsan": ("wonsan", "вонсан", "원산"),
    "hyesan": ("hyesan", "хесан", "혜산"),
    "shenyang": ("shenyang", "шэньян", "선양"),
    "dandong": ("dandong", "даньдун", "단둥"),
    "tumen": ("tumen", "тумэн", "투먼"),
    "yanji": ("yanji", "яньцзи", "옌지"),
    "helong": ("helong", "хэлун", "허룽"),
    "changbai": ("changbai", "чанба", "창바이"),
    "jilin": ("jilin", "цзилин", "지린"),
    "kunming": ("kunming", "куньмин", "쿤밍"),
    "geneva": ("geneva", "женев", "제네바"),
    "tumen_river": ("tumen river", "туманн", "туманган", "두만강"),
    "yalu": ("yalu", "ялу", "압록강"),
    "beijing": ("beijing", "пекин", "베이징"),
    "sinuiju": ("sinuiju", "синыйджу", "신의주"),
    "rason": ("rason", "rajin", "расон", "раджин", "나선", "라선"),
    "sakhalin": ("sakhalin", "сахалин", "사할린"),
    "irkutsk": ("irkutsk", "иркутск", "이르쿠츠크"),
}

# the country each place is in: a report naming Shenyang speaks of China
COUNTRY_OF: dict[str, str] = {
    **dict.fromkeys(("pyongyang", "wonsan", "hyesan", "sinuiju", "rason"), "north korea"),
    **dict.fromkeys(
        ("moscow", "vladivostok", "khabarovsk", "nakhodka", "primorye", "amur", "kursk",
         "tatarstan", "sakhalin", "irkutsk"), "russia"),
    **dict.fromkeys(
        ("shenyang", "dandong", "tumen", "yanji", "helong", "changbai", "jilin", "kunming",
         "beijing"), "china"),
    "kyiv": "ukraine",
    "seoul": "south korea",
}  # fmt: skip

_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    (alias, place) for place, aliases in PLACES.items() for alias in aliases if " " not in alias
)
# "tumen river" is the river, "tumen" alone the city: the longer name wins
_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (tuple(alias.split()), place) for place, aliases in PLACES.items() for alias in aliases
    if " " in alias
)  # fmt: skip
# aliases by their first two characters: a word is only compared with the few that can match
_BY_HEAD: dict[str, tuple[tuple[str, str], ...]] = {
    head: tuple(p for p in _PREFIXES if p[0][:2] == head) for head in {a[:2] for a, _ in _PREFIXES}
}


def places(text: str) -> frozenset[str]:
    """The places a text names (ids of PLACES)."""
    found: set[str] = set()
    tokens = words(text)
    skip: set[int] = set()
    for phrase, place in _PHRASES:
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if tokens[i] == phrase[0] and all(
                tokens[i + k].startswith(phrase[k]) for k in range(1, n)
            ):
                found.add(place)
                skip.update(range(i, i + n))
    for i, w in enumerate(tokens):
        if i in skip:
            continue
        for alias, place in _BY_HEAD.get(w[:2], ()):
            if w.startswith(alias):
                found.add(place)
    return frozenset(found)

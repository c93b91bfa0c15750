"""Places that reports about North Koreans in Russia and China name, in three languages.

Two reports naming different places (Vladivostok / Khabarovsk) are rarely the same development,
however similar their wording; a shared place with a shared number is a strong cross-language
signature. Aliases are matched as word prefixes, so inflected forms count.
"""

from __future__ import annotations

import re

from watcher.stories.text import words

# Places by the country they are in (a report naming Shenyang speaks of China)
_BY_COUNTRY: dict[str, dict[str, tuple[str, ...]]] = {
    "north korea": {
        "pyongyang": ("pyongyang", "пхеньян", "평양"),
        "wonsan": ("wonsan", "вонсан", "원산"),
        "hyesan": ("hyesan", "хесан", "혜산"),
        "sinuiju": ("sinuiju", "синыйджу", "신의주"),
        # 라선, 나선시: not 나선 alone ("stepped forward")
        "rason": ("rason", "rajin", "расон", "раджин", "라선", "나선시", "나선특", "나선경제"),
        "hoeryong": ("hoeryong", "хверен", "회령"),
        "onsong": ("onsong", "онсон", "온성"),
        "chongjin": ("chongjin", "чхонджин", "청진"),
        "hamhung": ("hamhung", "хамхын", "함흥"),
        "nampo": ("nampo", "нампхо", "남포"),
        "musan": ("musan", "мусан"),  # not 무산: "fell through"
        "ryanggang": ("ryanggang", "янгандо", "양강도", "량강도"),
        "north hamgyong": ("함경북도", "함북"),  # ("north" is no word to match on)
    },
    "russia": {
        "moscow": ("moscow", "москв", "모스크바"),
        "st petersburg": ("petersburg", "петербург", "상트페테르부르크", "페테르부르크"),
        "vladivostok": ("vladivostok", "владивосток", "블라디보스토크"),
        "khabarovsk": ("khabarovsk", "хабаровск", "하바롭스크"),
        "nakhodka": ("nakhodka", "находк", "나홋카"),
        "ussuriysk": ("ussuriysk", "ussuriisk", "уссурийск", "우수리스크"),
        "khasan": ("khasan", "хасанск", "핫산"),  # not 하산 ("going downhill"), not Хасанов
        "primorye": ("primorye", "primorsky", "приморь", "приморск", "연해주"),
        "amur": ("amur", "амурск", "приамурь", "아무르"),
        "blagoveshchensk": ("blagoveshchensk", "благовещенск", "블라고베셴스크"),
        "kursk": ("kursk", "курск", "курщин", "쿠르스크"),
        "belgorod": ("belgorod", "белгород", "벨고로드"),
        "tatarstan": ("tatarstan", "татарстан", "타타르스탄"),
        "alabuga": ("alabuga", "yelabuga", "elabuga", "алабуг", "елабуг", "알라부가", "옐라부가"),
        "sakhalin": ("sakhalin", "сахалин", "사할린"),
        "irkutsk": ("irkutsk", "иркутск", "이르쿠츠크"),
        "novosibirsk": ("novosibirsk", "новосибирск", "노보시비르스크"),
        "tomsk": ("tomsk", "томск", "톰스크"),
        "krasnoyarsk": ("krasnoyarsk", "красноярск", "크라스노야르스크"),
        "yakutia": ("yakutsk", "yakutia", "якутск", "якути", "야쿠츠크", "야쿠티야"),
        "magadan": ("magadan", "магадан", "마가단"),
        "kamchatka": ("kamchatka", "камчатк", "캄차카"),
        "kaliningrad": ("kaliningrad", "калининград", "칼리닌그라드"),
    },
    "china": {
        "beijing": ("beijing", "пекин", "베이징"),
        "shanghai": ("shanghai", "шанха", "상하이"),
        "liaoning": ("liaoning", "ляонин", "랴오닝"),
        "shenyang": ("shenyang", "шэньян", "선양"),
        "dandong": ("dandong", "даньдун", "단둥"),
        "dalian": ("dalian", "далянь", "다롄"),
        "donggang": ("donggang", "둥강"),
        "jilin": ("jilin", "цзилин", "지린"),
        "yanbian": ("yanbian", "яньбян", "옌볜", "연변"),
        "tumen": ("tumen", "тумэн", "투먼"),
        "yanji": ("yanji", "яньцзи", "옌지"),
        "helong": ("helong", "хэлун", "허룽"),
        "hunchun": ("hunchun", "хуньчунь", "훈춘"),
        "longjing": ("longjing", "лунцзин", "룽징"),
        "changbai": ("changbai", "чанба", "창바이"),
        "changchun": ("changchun", "чанчунь", "창춘"),
        "harbin": ("harbin", "харбин", "하얼빈"),
        "shandong": ("shandong", "шаньдун", "산둥"),
        "qingdao": ("qingdao", "циндао", "칭다오"),
        "weihai": ("weihai", "вэйхай", "웨이하이"),
        "yunnan": ("yunnan", "юньнань", "윈난"),
        "kunming": ("kunming", "куньмин", "쿤밍"),
    },
    "ukraine": {
        "donetsk": ("donetsk", "донецк", "도네츠크"),
        "luhansk": ("luhansk", "lugansk", "луганск", "루한스크", "루간스크"),
        "kyiv": ("kyiv", "kiev", "киев", "키이우"),
    },
    "south korea": {
        "seoul": ("seoul", "сеул", "서울"),
    },
    "laos": {
        "vientiane": ("vientiane", "вьентьян", "비엔티안"),
    },
    "thailand": {
        "bangkok": ("bangkok", "бангкок", "방콕"),
    },
    "vietnam": {
        "hanoi": ("hanoi", "ханой", "하노이"),
    },
    "mongolia": {
        "ulaanbaatar": ("ulaanbaatar", "ulan bator", "улан батор", "울란바토르"),
    },
    "": {  # the border rivers, and Geneva (no country a headline here is about)
        "tumen_river": ("tumen river", "туманн", "туманган", "두만강"),
        "yalu": ("yalu", "ялу", "압록강"),
        "geneva": ("geneva", "женев", "제네바"),
    },
}
PLACES: dict[str, tuple[str, ...]] = {p: a for ps in _BY_COUNTRY.values() for p, a in ps.items()}
COUNTRY_OF: dict[str, str] = {p: c for c, ps in _BY_COUNTRY.items() if c for p in ps}

# the regions a place lies in: a report naming Dandong and one naming Liaoning may tell of one
# development (two cities of one region may not)
REGIONS_OF: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("vladivostok", "nakhodka", "ussuriysk", "khasan"), ("primorye",)),
    "blagoveshchensk": ("amur",),
    "alabuga": ("tatarstan",),
    **dict.fromkeys(("shenyang", "dandong", "dalian"), ("liaoning",)),
    "donggang": ("dandong", "liaoning"),
    **dict.fromkeys(("tumen", "yanji", "helong", "hunchun", "longjing"), ("yanbian", "jilin")),
    **dict.fromkeys(("yanbian", "changbai", "changchun"), ("jilin",)),
    **dict.fromkeys(("qingdao", "weihai"), ("shandong",)),
    "kunming": ("yunnan",),
    "hyesan": ("ryanggang",),
    **dict.fromkeys(("hoeryong", "onsong", "chongjin", "musan"), ("north hamgyong",)),
}  # fmt: skip


def specific(found: frozenset[str]) -> frozenset[str]:
    """The places less the regions of others among them ("Dandong, Liaoning": Dandong)."""
    return found - {r for p in found for r in REGIONS_OF.get(p, ())}


def same_places(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two reports' places can be one place: a place both name, or one that lies in
    the region the other names (Dandong / Liaoning; not Dandong, Liaoning / Shenyang)."""
    a, b = specific(a), specific(b)
    return (
        bool(a & b)
        or any(r in b for p in a for r in REGIONS_OF.get(p, ()))
        or any(r in a for p in b for r in REGIONS_OF.get(p, ()))
    )


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


# words that begin like a place and are something else: the Shanghai Cooperation Organisation,
# a stethoscope (청진기), a district of Busan (남포동), a country of origin (원산지), green tea
_NOT_PLACES = re.compile(
    r"shanghai cooperation|шанхайск\w* организаци\w*|\bшос\b|상하이 ?협력\w*|청진기\w*|남포동\w*"
    r"|원산지\w*"
    r"|longjing tea"
)


def places(text: str) -> frozenset[str]:
    """The places a text names (ids of PLACES)."""
    found: set[str] = set()
    tokens = words(_NOT_PLACES.sub(" ", " ".join(words(text))))
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
            # Russian and Korean inflect (Хабаровске, 선양서); an English alias is a word
            # ("Harbin", not "harbinger")
            if w == alias or (w.startswith(alias) and not alias.isascii()):
                found.add(place)
    return frozenset(found)

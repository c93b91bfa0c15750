"""What tells one development from another: names, figures, dates, places, kind of event.

Two reports of one development share some of these (the prosecutor's name, "60 defectors",
"on the 2nd", Vladivostok) and never contradict each other on them; two developments that
only share vocabulary (every deportation from China says "defectors", "forcibly", "China")
either share none or contradict on one (60 vs 12, Shenyang vs Tumen, signed vs ratified).
Everything here is language-independent at the output: names become consonant skeletons
("Краснов", "Krasnov" and "크라스노프" are all ``KRSNP``), figures become integers, event
kinds become stages of a process. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from watcher.stories.places import COUNTRY_OF, PLACES, places

# -- names -----------------------------------------------------------------------------------

# Consonant classes that survive transliteration between Latin, Cyrillic and Hangul: voicing,
# aspiration and vowels do not (Korean has no v or f, Russian no th, Korean adds vowels).
_LATIN_DIGRAPHS = (
    ("kh", ""), ("ch", "S"), ("sh", "S"), ("zh", "S"), ("ts", "S"), ("tz", "S"), ("th", "T"),
    ("ph", "P"), ("ck", "K"), ("ce", "Se"), ("ci", "Si"), ("cy", "Sy"),
)  # fmt: skip
_LATIN = str.maketrans("bpfvkgcqxdtszjlrmn", "PPPPKKKKSTTSSSRRMN", "aeiouyhw'’-")
_CYRILLIC = str.maketrans("бпфвкгдтжзсцчшщлрмнх", "PPPPKKTTSSSSSSSRRMN-", "аеёиоуыэюяйьъ")
# Hangul jamo (initial consonants, then final consonants) to the same classes; "" is silent
_INITIAL = "KKNTTRMPPSS-SSSKTP-"
_FINAL = ["", "K", "K", "KS", "N", "NS", "N", "T", "R", "RK", "RM", "RP", "RS", "RT", "RP", "R",
          "M", "P", "PS", "S", "S", "NK", "S", "S", "K", "T", "P", ""]  # fmt: skip
_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)
_LATIN_WORD = re.compile(r"[\"'‘“(]*[A-Za-z]")
MAX_TEXT = 1200  # characters of a summary looked at (the lead names who and where)
MIN_NAME = 3  # consonant classes a name needs to count at all ("Kim", "Un" do not)


def skeleton(word: str) -> str:
    """The consonant skeleton of a word in Latin, Cyrillic or Hangul letters ("" if mixed)."""
    word = word.lower()
    if not word:
        return ""
    first = word[0]
    if "a" <= first <= "z":
        for digraph, repl in _LATIN_DIGRAPHS:
            word = word.replace(digraph, repl)
        raw = word.translate(_LATIN).upper()
        raw = "".join(ch for ch in raw if "A" <= ch <= "Z")
    elif "\u0400" <= first <= "\u04ff":
        raw = word.translate(_CYRILLIC).replace("-", "")
        raw = "".join(ch for ch in raw if "A" <= ch <= "Z")
    elif _HANGUL_BASE <= ord(first) <= _HANGUL_LAST:
        raw = _hangul(word)
    else:
        return ""
    out: list[str] = []
    for ch in raw:
        if not out or out[-1] != ch:  # doubled consonants are one sound
            out.append(ch)
    return "".join(out)


def _hangul(word: str) -> str:
    parts: list[str] = []
    for ch in word:
        code = ord(ch) - _HANGUL_BASE
        if not 0 <= code <= _HANGUL_LAST - _HANGUL_BASE:
            continue
        initial, rest = divmod(code, 21 * 28)
        parts.append(_INITIAL[initial].replace("-", ""))
        parts.append(_FINAL[rest % 28])
    return "".join(parts)


# Capitalised words that name no one in particular in this domain: countries, their people,
# institutions, titles, months and days. A name shared by two reports is evidence only when
# it is not one of these. Russian ones are stems (inflection).
_GENERIC_WORDS = """
    north south korea korean koreans dprk rok russia russian russians china chinese ukraine
    ukrainian ukrainians japan japanese america american united states nations un us usa eu
    president minister ministry foreign affairs state council security service police court
    prosecutor general office government parliament duma assembly national committee agency
    news report reports according monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    the a an in on at of and but for with by from after as this that it he she they we its
    kim jong un kremlin seoul pyongyang moscow beijing kyiv tokyo washington asia europe
    democratic people's peoples republic federation central national international internal
    interior public justice defense defence intelligence military army forces navy party
    workers commission commissioner high special rapporteur human rights council bureau
    department administration region oblast province city supreme federal deputy chief
"""
_GENERIC_RUSSIAN_STEMS = """
    росси кндр китай кита кнр украин северн северокор корея корей южн японск япони
    сеул пхеньян москв пекин президент министр мид оон сша американ январ феврал март апрел
    мая июн июл август сентябр октябр ноябр декабр народн демократ республик федерац
    генеральн прокуратур следствен комитет министерств госдум государствен совет правительств
    арми област центральн агентств телеграф верховн минобороны мвд фсб
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
_GENERIC_STEMS = tuple(_GENERIC_RUSSIAN_STEMS.split())


def _generic_word(word: str) -> bool:
    low = word.lower()
    return low in _GENERIC or ("\u0400" <= low[:1] <= "\u04ff" and low.startswith(_GENERIC_STEMS))


# for Korean words, which have no capitals: "우크라이나" is "ukraine" (short words such as
# "jong" would also hide real names: "Xiaohong")
_GENERIC_SKELETONS = frozenset(skeleton(w) for w in _GENERIC if len(w) >= 5)
# places are anchors of their own (``places``): not names as well
_PLACE_SKELETONS = frozenset(
    key
    for aliases in PLACES.values()
    for alias in aliases
    if " " not in alias and len(key := skeleton(alias)) >= 3
)
# a place plus one ending would match a name (``names_match``): those bare stems too
_PLACE_STEMS = frozenset(
    key[:-1] for key in _PLACE_SKELETONS if len(key) > MIN_NAME + 1 and key[-1] in "MKRNST"
)


Name = frozenset[str]  # the keys of one person's name: "Vladimir Kolokoltsev"


def names(title: str, summary: str, language: str) -> frozenset[Name]:
    """The names in a report, each as the skeletons of its words.

    English and Russian: runs of words written with a capital inside a sentence, less
    generic words ("Prosecutor General Igor Krasnov": Igor Krasnov); a run that starts a
    sentence or an English title in Title Case only with words the other field also
    capitalises. Korean has no capitals: every word of two syllables or more is a
    candidate, matched only against names from reports in other scripts.
    """
    out: set[Name] = set()
    if language == "ko" or _is_hangul_text(title + summary):
        # an office is no name (``offices`` reads it): 검찰총장, 국방부 장관
        text = _KOREAN_OFFICES.sub(" ", f"{title} {summary[:MAX_TEXT]}")
        for m in _WORD.finditer(text):
            word = m.group()
            if _HANGUL_BASE <= ord(word[0]) <= _HANGUL_LAST and len(word) >= 2:
                key = skeleton(word)
                if len(key) >= MIN_NAME and _not_generic(key):
                    out.add(frozenset((key,)))
            elif word[0].isupper() and (keys := _keys(word)):
                out.add(frozenset(keys))
        return frozenset(out)
    mid_title, first_title = _capitalised(title)
    mid_summary, first_summary = _capitalised(summary[:MAX_TEXT])
    words = [w for w in _WORD.findall(title) if len(w) > 3]
    # English headlines In Title Case capitalise every word (other languages do not)
    title_case = _LATIN_WORD.match(title.lstrip()) is not None and (
        bool(words) and sum(w[0].isupper() for w in words) > len(words) / 2
    )
    in_summary = frozenset().union(*mid_summary, *first_summary)
    in_title = frozenset().union(*mid_title, *first_title)
    out.update(mid_summary)
    for run in mid_title:
        out.add(run & in_summary if title_case else run)
    # a run that starts a sentence counts with the words the other field gives too
    out.update(run & in_summary for run in first_title)
    out.update(run & in_title for run in first_summary)
    out.discard(frozenset())
    return frozenset(out)


def name_keys(found: frozenset[Name]) -> frozenset[str]:
    return frozenset().union(*found) if found else frozenset()


def _capitalised(text: str) -> tuple[set[Name], set[Name]]:
    """Runs of capitalised words (their non-generic keys): inside a sentence, and those that
    start one (there any word has a capital)."""
    inside: set[Name] = set()
    starting: set[Name] = set()
    run: list[str] = []
    run_first = False
    end = -1
    for m in _WORD.finditer(text):
        word = m.group()
        capital = word[0].isupper() and not (word.isupper() and len(word) <= 5)  # not acronyms
        if run and (not capital or text[end : m.start()].strip()):
            (starting if run_first else inside).add(_run_keys(run))  # the run ended
            run = []
        if capital:
            if not run:
                before = text[max(0, m.start() - 4) : m.start()].rstrip(" \t\"'«“‘(")
                run_first = not before or before[-1] in ".!?…:"
            run.append(word)
            end = m.end()
    if run:
        (starting if run_first else inside).add(_run_keys(run))
    inside.discard(frozenset())
    starting.discard(frozenset())
    return inside, starting


def _run_keys(run: list[str]) -> Name:
    return frozenset(key for w in run if not _generic_word(w) for key in _keys(w))


def _keys(word: str) -> list[str]:
    keys = []
    for part in re.split(r"[-'’]", word):
        if not part or _generic_word(part):
            continue
        key = skeleton(part)
        if len(key) >= MIN_NAME and _not_generic(key):
            keys.append(key)
    return keys


def _not_generic(key: str) -> bool:
    """Not a generic word nor a place (``names_match`` against every place, precomputed)."""
    if key in _GENERIC_SKELETONS or key in _PLACE_SKELETONS or key in _PLACE_STEMS:
        return False
    return not (len(key) > MIN_NAME + 1 and key[-1] in _ENDINGS and key[:-1] in _PLACE_SKELETONS)


def _is_hangul_text(text: str) -> bool:
    return any(_HANGUL_BASE <= ord(ch) <= _HANGUL_LAST for ch in text[:200])


_ENDINGS = frozenset("MKRNST")  # what a Russian ending or a Korean particle can add


def names_match(a: str, b: str) -> bool:
    """Two skeletons name the same person: equal, or the longer is the shorter (of four
    classes or more) plus one ending ("Красновым", "크라스노프를"), not another name."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return (
        len(short) >= MIN_NAME + 1
        and len(long_) == len(short) + 1
        and long_.startswith(short)
        and long_[-1] in _ENDINGS
    )


# -- figures and dates -----------------------------------------------------------------------

_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100,
    "два": 2, "две": 2, "двое": 2, "двух": 2, "двоих": 2, "трое": 3, "три": 3, "трех": 3,
    "троих": 3, "четыре": 4, "четверо": 4, "четырех": 4, "пять": 5, "пятеро": 5,
    "пятерых": 5, "шесть": 6, "шестеро": 6, "семь": 7, "восемь": 8, "восьмерых": 8,
    "девять": 9, "десять": 10, "двенадцать": 12, "двадцать": 20,
    "тридцать": 30, "сорок": 40, "пятьдесят": 50, "сто": 100, "тысячу": 1000,
    "두": 2, "세": 3, "네": 4, "다섯": 5,
}  # fmt: skip
_SCALE = {
    "thousand": 1000, "thousands": 1000, "million": 1_000_000, "millions": 1_000_000,
    "тысяч": 1000, "тысячи": 1000, "тысяча": 1000, "тыс": 1000, "млн": 1_000_000,
    "миллион": 1_000_000, "миллиона": 1_000_000, "миллионов": 1_000_000, "m": 1_000_000,
}  # fmt: skip
_KO_UNITS = {"만": 10_000, "천": 1000, "백": 100, "억": 100_000_000}
# a figure: digits (1,000 / 6.6), optionally Korean units (1만3천), then the next word
_FIGURE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:[,\s]\d{3})+|\d+(?:[.,]\d+)?)((?:[만천백억]\d*)*)(\s*[^\W\d_]*)",
    re.UNICODE,
)
_MONTH_NAMES = (
    "january february march april may june july august september october november december "
    "январ феврал март апрел ма[йя] июн июл август сентябр октябр ноябр декабр"
)
_MONTHS = _MONTH_NAMES.split()
_EN_DAY = re.compile(
    r"\b(?:(\d{1,2})\s+(" + "|".join(_MONTHS[:12]) + r")|(" + "|".join(_MONTHS[:12]) +
    r")\s+(\d{1,2}))\b", re.IGNORECASE,
)  # fmt: skip
_RU_DAY = re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS[12:]) + r")[а-я]*", re.IGNORECASE)
_KO_DAY = re.compile(r"(?<!\d)(\d{1,2})일(?:\s*\(현지시간\)|[에부터까지]|\s)")
_YEAR = re.compile(r"^(19|20)\d\d$")


# words that make a figure an estimate ("more than 500", "около 60", "60여 명"): estimates
# of one figure differ between outlets, exact figures do not
_HEDGE_BEFORE = re.compile(
    r"(?:more than|over|about|around|some|nearly|almost|up to|at least|roughly|approximately"
    r"|estimated|более|свыше|около|почти|примерно|порядка|не менее|약)\W*$",
    re.IGNORECASE,
)
_HEDGE_AFTER = ("여", "이상", "가량", "정도", "쯤", "plus", "or so")


@dataclass(frozen=True, slots=True)
class Figures:
    counts: frozenset[int]  # how many people, tonnes, dollars... (not years, not dates)
    approx: frozenset[int]  # those of them given as estimates
    days: frozenset[int]  # days of the month the text dates something to


def figures(text: str) -> Figures:
    text = unicodedata.normalize("NFKC", text)
    days, spans = _days(text)
    counts: set[int] = set()
    approx: set[int] = set()
    for m in _FIGURE.finditer(text):
        if any(start <= m.start() < end for start, end in spans):
            continue  # "9 October": a date
        raw, units, after = m.group(1), m.group(2), m.group(3).strip().lower()
        value = _value(raw, units)
        if value is None:
            continue
        if (after.startswith("일") and value <= 31) or (_YEAR.match(raw) and not units):
            continue  # a day ("2일") or a year: dates, not counts
        scale = _SCALE.get(after.rstrip("."), 1)
        value = value * scale if scale > 1 and value < 1000 else value
        counts.add(value)
        hedged = after.startswith(_HEDGE_AFTER) or _HEDGE_BEFORE.search(
            text[max(0, m.start() - 20) : m.start()]
        )
        if hedged:
            approx.add(value)
    for word in re.findall(r"[^\W\d_]+", text.lower()):
        if word in _NUMBER_WORDS:
            counts.add(_NUMBER_WORDS[word])
    counts.discard(0)
    return Figures(frozenset(counts), frozenset(approx & counts), frozenset(days))


def _value(raw: str, units: str) -> int | None:
    digits = re.sub(r"[,\s]", "", raw) if re.fullmatch(r"\d{1,3}(?:[,\s]\d{3})+", raw) else raw
    try:
        value = float(digits.replace(",", "."))
    except ValueError:
        return None
    if units:  # 1만3천 = 13000, 6천 = 6000, 60여 = 60
        total = 0.0
        for part in re.finditer(r"([만천백억])(\d*)", units):
            total += value * _KO_UNITS[part.group(1)]
            value = float(part.group(2)) if part.group(2) else 0.0
        value = total + value
    return round(value) if value == int(value) else round(value * 10)


def _days(text: str) -> tuple[set[int], list[tuple[int, int]]]:
    """Days of the month the text names, and where (so that they are not taken as counts)."""
    days: set[int] = set()
    spans: list[tuple[int, int]] = []
    for pattern in (_EN_DAY, _RU_DAY, _KO_DAY):
        for m in pattern.finditer(text):
            day = int(next(g for g in m.groups() if g and g.isdigit()))
            if 1 <= day <= 31:
                days.add(day)
                spans.append(m.span())
    return days, spans


def counts_compatible(a: int, b: int, approx: frozenset[int] = frozenset()) -> bool:
    """The same figure: equal, or an estimate within a third of the other, both large
    ("more than 500" and "600여 명" returnees; not "4,000 days" and "5,000 homes")."""
    if a == b:
        return True
    low, high = min(a, b), max(a, b)
    return (a in approx or b in approx) and low >= 20 and high <= low * 1.34


# -- kind of event -----------------------------------------------------------------------------

# Processes whose stages are separate developments for an advocate: an agreement announced,
# signed, ratified, in force; a person detained, then handed back; a soldier captured, then
# offered in exchange, then returned. Patterns are matched on normalised words (prefixes).
STAGES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "agreement": (
        ("announced", ("will sign", "to sign", "plan* to sign", "set to sign", "подпишут",
                       "намерен* подписать", "планиру* подписать", "체결할", "서명할",
                       "체결키로", "서명키로", "체결합니다", "체결 예정", "서명 예정", "다음달")),
        ("signed", ("sign", "signs", "signed", "signing", "ink", "inks", "inked", "conclud*",
                    "подписа*", "заключи*", "서명", "체결")),
        ("ratified", ("ratif*", "ратифи*", "비준")),
        ("in force", ("into force", "takes effect", "took effect", "вступ* в силу", "발효")),
    ),
    "custody": (
        ("detained", ("arrest*", "detain", "detains", "detained", "caught", "задерж*",
                      "арестова*", "체포", "구금", "검거", "붙잡")),
        ("returned", ("deport*", "repatriat*", "extradit*", "hand* over", "handed back",
                      "returned", "returns", "return", "forcibly return*",
                      "sent back", "send* back", "депорт*", "выдал*", "выдан*", "выслал*",
                      "выслан*", "передал*", "передан*", "экстрадир*", "송환", "북송", "인계",
                      "추방")),
    ),
    "prisoners": (
        ("captured", ("captur*", "taken prisoner", "взял* в плен", "взяти* в плен", "생포")),
        ("exchange", ("swap*", "exchang*", "обмен*", "교환")),
    ),
}  # fmt: skip
# What an agreement or a measure is about: an extradition treaty and a readmission agreement
# are different developments however alike their reports read.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "extradition": ("extradit*", "범죄인 인도", "범죄인인도", "выдач*", "экстрадиц*"),
    "readmission": ("readmission", "illegal migrant*", "illegal immigrant*", "불법 입국",
                    "불법입국", "불법 체류", "불법체류", "реадмисс*", "незаконн* мигрант*",
                    "нелегальн* мигрант*"),
    "legal assistance": ("legal assistance", "legal aid", "사법공조", "правов* помощ*"),
    "convicts": ("convicts", "sentenced persons", "transfer of prisoners", "수형자",
                 "осужденн*"),
    "labour": ("labour migration", "labor migration", "трудов* миграц*", "노동력 파견",
               "인력 파견"),
}  # fmt: skip
# A treaty on criminal matters is not the one on civil matters (two treaties, two ratifications)
MATTERS: dict[str, tuple[str, ...]] = {
    "criminal": ("criminal", "уголовн*", "형사"),
    "civil": ("civil", "гражданск*", "민사"),
}  # fmt: skip
# What kind of thing happened, as a headline says it: troops killed and troops sent to rebuild
# a region are two developments even with the same figure and place.
KINDS: dict[str, tuple[str, ...]] = {
    "casualties": ("casualt*", "killed", "death toll", "dead", "wounded", "потер*", "погиб*",
                   "убит*", "ранен*", "사상자", "사망", "전사", "부상"),
    "rebuilding": ("rebuild*", "restor*", "reconstruct*", "construction", "восстанов*",
                   "строител*", "재건", "착공", "건설"),
    "launch": ("launch*", "missile*", "satellite*", "запуск*", "запусти*", "ракет*", "спутник*",
               "발사", "미사일", "위성"),
    "meeting": ("meet", "meets", "met", "meeting", "talks", "visit*", "arriv*", "встрет*",
                "встреч*", "переговор*", "визит*", "прибыл*", "посети*", "방문", "회담", "면담",
                "회동", "방북", "방러", "도착"),
    # reaching the South: those who fled (an escape and an arrival are one development)
    "arrival": ("arriv* in seoul", "arriv* in south korea", "reach* seoul", "reach* south korea",
                "прибыл* в сеул", "прибыл* в южную корею", "добрал* до сеула",
                "добрал* до южной кореи", "한국 입국", "국내 입국", "서울 도착",
                "한국 도착"),
    "escape": ("defects", "defected", "escapes", "escaped from", "fled", "flee", "flees",
               "runaway", "prison break", "сбежа*", "бежал*", "побег*", "탈출", "탈옥", "귀순",
               "망명", "도주"),  # the act, not "defectors"
    "punishment": ("execut*", "sentenc*", "jailed", "prison term", "казн*", "приговор*",
                   "처형", "징역", "선고"),
    "sanctions": ("sanction*", "санкц*", "제재"),
}  # fmt: skip
# Offices whose holder a report names by title rather than by name ("Russia's top
# prosecutor", "러시아 검찰총장", "генпрокурор РФ"): with the country named next to it, one
# person, so evidence like a name.
ROLES: dict[str, tuple[str, ...]] = {
    "prosecutor general": ("prosecutor general", "top prosecutor", "general prosecutor",
                           "chief prosecutor", "генпрокурор*", "генеральн* прокурор*",
                           "검찰총장"),
    "interior minister": ("interior minister", "minister of internal affairs",
                          "minister of the interior", "глав* мвд", "министр* внутренних дел*",
                          "내무장관", "내무부 장관", "내무상"),
    "public security minister": ("public security minister", "minister of public security",
                                 "министр* общественной безопасности", "공안부장"),
    "foreign minister": ("foreign minister", "minister of foreign affairs", "глав* мид",
                         "министр* иностранных дел", "외무상", "외교장관", "외무장관",
                         "외교부 장관"),
    "defence minister": ("defense minister", "defence minister", "minister of defense",
                         "министр* обороны", "국방장관", "국방상", "국방부 장관"),
    "investigative committee": ("investigative committee", "следственн* комитет*",
                                "수사위원회"),
    "committee against torture": ("committee against torture", "torture committee",
                                  "комитет* против пыток", "고문방지위원회"),
    "special rapporteur": ("special rapporteur", "спецдокладчик*",
                           "специальн* докладчик*", "특별보고관"),
    "panel of experts": ("panel of experts", "expert panel", "группа экспертов",
                         "группы экспертов", "전문가 패널", "전문가패널"),
}  # fmt: skip
# Countries a headline is about: a report about Vietnam's prosecutors and one about North
# Korea's are different developments even when the same Russian official is in both.
COUNTRIES: dict[str, tuple[str, ...]] = {
    "north korea": ("north korea*", "n korea*", "dprk", "pyongyang", "кндр", "северн* коре*",
                    "северокоре*", "пхеньян*", "북한", "北", "북", "북러", "북중", "탈북", "북송",
                    "방북", "조선"),
    "south korea": ("south korea*", "seoul", "южн* коре*", "сеул*", "한국", "韓", "남한",
                    "서울", "국정원", "통일부"),
    "russia": ("russia*", "moscow", "kremlin", "duma", "росси*", "рф", "москв*", "кремл*",
               "госдум*", "러시아", "러", "로씨야", "俄", "방러"),
    "china": ("china", "chinese", "beijing", "китай*", "китая", "кнр", "пекин*", "중국",
              "中", "북중", "방중"),
    "ukraine": ("ukrain*", "kyiv", "kiev", "sbu", "украин*", "киев*", "всу", "сбу",
                "우크라"),
    "japan": ("japan*", "tokyo", "япони*", "японск*", "токио", "일본", "日"),
    "vietnam": ("vietnam*", "viet nam", "вьетнам*", "베트남"),
    "mongolia": ("mongolia*", "монгол*", "몽골"),
    "laos": ("laos", "lao", "laotian*", "лаос*", "라오스"),
    "thailand": ("thailand*", "thai", "таиланд*", "тайск*", "태국"),
    "united states": ("united states", "u s", "usa", "washington", "сша", "америк*",
                      "вашингтон*", "미국", "美"),
}  # fmt: skip
_STAGE_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


def _source(p: str) -> str:
    """``p*``: words starting with p; Korean: anywhere (words glue: 강제북송); else whole."""
    if _is_hangul_text(p):
        return re.escape(p)
    body = re.escape(p).replace(r"\*", r"\w*")
    return rf"(?<!\w){body}(?!\w)"


def _country_source(p: str) -> str:
    """A Korean country form: a short one ("러") only as a word of its own or before another
    ("러·북"), a longer one anywhere ("탈북민"); 北, 中: Korean headlines' abbreviations."""
    if _is_hangul_text(p) and len(p) == 1:
        return rf"(?<![\uac00-\ud7a3]){re.escape(p)}(?![\uac00-\ud7a3]{{2,}})"
    if _is_hangul_text(p) or (len(p) == 1 and "\u4e00" <= p <= "\u9fff"):
        return re.escape(p)
    return _source(p)


def _regex(patterns: tuple[str, ...], source: Callable[[str], str] = _source) -> re.Pattern[str]:
    """One regular expression for a list of patterns (one search instead of one each)."""
    return re.compile("|".join(f"(?:{source(p)})" for p in patterns))


_STAGE_PATTERNS = {
    process: tuple((step, _regex(pats)) for step, pats in steps)
    for process, steps in STAGES.items()
}
_SUBJECT_PATTERNS = {subject: _regex(pats) for subject, pats in SUBJECTS.items()}
_KIND_PATTERNS = {kind: _regex(ps) for kind, ps in KINDS.items()}
_MATTER_PATTERNS = {m: _regex(ps) for m, ps in MATTERS.items()}
_COUNTRY_PATTERNS = {c: _regex(ps, _country_source) for c, ps in COUNTRIES.items()}
_ROLE_PATTERNS = {role: _regex(ps) for role, ps in ROLES.items()}
_KOREAN_OFFICES = re.compile(
    "|".join(re.escape(p) for ps in ROLES.values() for p in ps if _is_hangul_text(p))
)
# whose office: the country's name or genitive, or its adjective or possessive, next to it
# ("Russian", "North Korea's", "России", "КНДР", "러시아"), never a capital or a compound
# (방북: visiting North Korea). Names first: after a preposition a name says where, not whose.
_NATIONAL: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "russia": (("russia", "россия", "россии", "рф"),
               ("russian", "russia s", "российск*", "러시아", "러", "로씨야", "俄")),
    "north korea": (("north korea", "n korea", "dprk", "кндр", "северной кореи"),
                    ("north korean", "north korea s", "n korean", "n korea s", "dprk s",
                     "северокорейск*", "북한", "북", "北")),
    "south korea": (("south korea", "южной кореи", "республики корея"),
                    ("south korean", "south korea s", "южнокорейск*", "한국", "남한", "韓")),
    "china": (("china", "китай", "китая", "кнр"), ("chinese", "china s", "китайск*", "중국", "中")),
    "ukraine": (("ukraine", "украина", "украины"),
                ("ukrainian", "ukraine s", "украинск*", "우크라이나")),
    "vietnam": (("vietnam", "вьетнам", "вьетнама"),
                ("vietnamese", "vietnam s", "вьетнамск*", "베트남")),
    "japan": (("japan", "япония", "японии"), ("japanese", "japan s", "японск*", "일본", "日")),
    "united states": (("united states", "usa", "us", "сша"),
                      ("united states s", "american", "u s", "американск*", "미국", "美")),
    "mongolia": (("mongolia", "монголия", "монголии"), ("mongolian", "монгольск*", "몽골")),
}  # fmt: skip
_NATIONAL_PATTERNS = {
    c: re.compile("|".join(re.escape(p).replace(r"\*", r"\w*") for p in (*names, *others)))
    for c, (names, others) in _NATIONAL.items()
}
_COUNTRY_NAMES = frozenset(name for names, _ in _NATIONAL.values() for name in names)
# North Korea's own titles: its ministers are 상, South Korea's 장관
_NORTH_KOREAN_TITLES = ("국방상", "내무상")  # not 외무상: Japan's foreign minister too


def _national(phrase: str) -> str:
    """The country whose adjective, possessive or genitive ``phrase`` is, or ""."""
    return next((c for c, p in _NATIONAL_PATTERNS.items() if p.fullmatch(phrase)), "")


def _implied(found: frozenset[str]) -> frozenset[str]:
    return frozenset(COUNTRY_OF[p] for p in found if p in COUNTRY_OF)


# Words that name a country without speaking of it: the Sea of Japan is off Russia's coast;
# "..., Seoul says" names who said it (the other report may quote someone else).
_NOT_COUNTRIES = _regex(("sea of japan", "japan sea", "японск* мор*", "east sea"))
# "..., Seoul says": the one or two words before the verb, after the headline's last comma
_SAYS = re.compile(
    r",\s*(?:[\w'’-]+\s+){0,1}[\w'’-]+\s+(?:says|said|claims|reports|warns)\s*$", re.I
)
# "Seoul: ...", "Шойгу: ...", 국정원 "...": one or two words before a colon, or one word
# before a quotation that runs to the end of the headline
_SOURCE = re.compile(
    r"^(?:[^\s,:\"“«]+(?:\s[^\s,:\"“«]+)?:\s"
    r"|[^\s,:\"“«]+\s?(?=[\"“«][^\"”»]+[\"”»]\s*(?:\([^)]*\))?\s*$))"
)


def countries(text: str) -> frozenset[str]:
    norm = _NOT_COUNTRIES.sub(" ", _words(text))
    return frozenset(c for c, p in _COUNTRY_PATTERNS.items() if p.search(norm))


def _names_a_country(text: str) -> bool:
    """Whether ``text`` names a country by its name or adjective (not by its capital or an
    institution: "Seoul", 국정원 are sources)."""
    words = _words(text).split()
    spans = ((i, j) for i in range(len(words)) for j in range(i + 1, min(i + 4, len(words) + 1)))
    return any(_national(" ".join(words[i:j])) for i, j in spans)


def _claim(title: str) -> str:
    """A headline less the source of its claim ("..., Seoul says"; "Seoul: ..."): a country
    or place named only as who says it is not what the development is about. A country
    before a colon is a topic, not a source ("North Korea: ...", "Ukraine war: ...")."""
    source = _SOURCE.match(title)
    if source and _names_a_country(source.group()):
        source = None
    head = title[source.end() :] if source else title
    return _words(_SAYS.sub(" ", head))


def stages(title: str, summary: str) -> tuple[dict[str, str], frozenset[str]]:
    """For each process the report's headline speaks of, its latest stage ("signed"); and
    the subjects it names (``SUBJECTS``).

    The headline decides (a ratification report also mentions the earlier signing in its
    body); a headline without any falls back on the first sentence of the summary."""
    head, first = _words(title), _words(_first_sentence(summary))
    found = _stages(head) or _stages(first)
    subjects = _subjects(head) or _subjects(first)
    return found, subjects


# "two more soldiers", "ещё", "추가 파병"; not "more than 500" (an estimate), not 또한
_MORE = re.compile(
    r"(?<!\w)(?:more(?! than)|another|additional|ещё|еще|дополнительн\w*)(?!\w)"
    r"|추가|(?<![\uac00-\ud7a3])또(?![\uac00-\ud7a3])"
)
Office = tuple[str, str]  # (ROLES key, the country named next to it or "")
# not the holder: a deputy, a former or an acting one (Korean says "acting" after the office)
_NOT_HOLDER = _regex(("deputy", "vice", "former", "ex", "acting", "замест*", "зам", "врио",
                      "бывш*", "экс", "исполняющ*", "전", "前"))  # fmt: skip
_ACTING_AFTER = re.compile(r"^(?:직무)?대행")
# bodies there is one of (Russia's Investigative Committee, the UN's): no country to tell
ONE_OF_A_KIND = frozenset(
    ("investigative committee", "committee against torture", "special rapporteur",
     "panel of experts")
)  # fmt: skip


_CLAUSE = re.compile(r"[,:;—–…]|\s-\s")
# two of them ("министры", "главами МИД России и КНДР"; "главы" only when two countries
# follow: it is the singular's genitive too), "главк МВД" (a police directorate)
_NOT_ONE = re.compile(r"(?:министр(?:ы|ов|ам|ами|ах)|глав(?:ам|ами|ах)?|главк\w*)(?!\w)")
_PREPOSITIONS = frozenset(
    ("in", "to", "from", "at", "into", "for", "of", "в", "во", "из", "на", "к", "с", "у",
     "에서", "에")
)  # fmt: skip


def offices(title: str) -> frozenset[Office]:
    """The offices (``ROLES``) a headline names, each with the country whose office it is
    ("Russia's top prosecutor", "генпрокурор РФ", "북한 외무상"; "" when unsaid): Russia's
    foreign minister is not North Korea's. Not a deputy's, a former holder's or an acting
    one's. Read clause by clause: "In Pyongyang, foreign minister Lavrov" says no country."""
    found: set[Office] = set()
    for clause in _CLAUSE.split(title):
        norm = _words(clause)
        for role, pattern in _ROLE_PATTERNS.items():
            for m in pattern.finditer(norm):
                before, rest = norm[: m.start()].split()[-5:], norm[m.end() :]
                if (
                    any(_NOT_HOLDER.fullmatch(w) for w in before)
                    or _ACTING_AFTER.match(rest.lstrip())
                    or _NOT_ONE.match(m.group())
                    or (m.group().startswith("главы ") and " и " in f" {rest} ")
                ):
                    continue
                whose = "" if role in ONE_OF_A_KIND else _whose(m.group(), before, rest.split())
                found.add((role, whose))
    return frozenset(found)


def _whose(office: str, before: list[str], after: list[str]) -> str:
    """The country whose office it is: in Russian a genitive right after it ("министр обороны
    России"), in English after "of"; else an adjective or possessive right before it ("North
    Korea's", "Russian", "러시아", "러시아의"), not a country's name after a preposition ("в
    КНДР министр": where, not whose). Two readings that disagree say nothing. A North Korean
    title (국방상) that names no other country is North Korea's."""
    found = {_after(office, after), _before(before)} - {""}
    if len(found) == 1:
        return found.pop()
    return "" if found or office not in _NORTH_KOREAN_TITLES else "north korea"


def _after(office: str, after: list[str]) -> str:
    if _is_hangul_text(office) or not after:
        return ""
    if after[0] == "of":
        words = after[2:4] if after[1:2] == ["the"] else after[1:3]
    elif _is_cyrillic(office):
        words = after[:2]
    else:
        return ""  # an English noun after the office is not its owner ("minister Russia-bound")
    return _national(" ".join(words)) or _national(" ".join(words[:1]))


def _before(before: list[str]) -> str:
    words = [w.removesuffix("의") if _is_hangul_text(w) else w for w in before]
    for n in (3, 2, 1):
        if len(words) < n or not (country := _national(" ".join(words[-n:]))):
            continue
        ahead = [w for w in words[:-n] if w != "the"]
        if " ".join(words[-n:]) in _COUNTRY_NAMES and ahead[-1:] and ahead[-1] in _PREPOSITIONS:
            return ""  # where, not whose: "in (the) DPRK"
        if any(_national(" ".join(ahead[-k:])) for k in (1, 2, 3) if len(ahead) >= k):
            return ""  # two countries' ("북·러 국방장관", "North Korea-Russia minister talks")
        return country
    return ""


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def _first_sentence(summary: str) -> str:
    return re.split(r"(?<=[.!?…])\s", summary, maxsplit=1)[0]


def kinds(title: str) -> frozenset[str]:
    """The kinds of event (``KINDS``) a headline names (reaching Seoul is no meeting)."""
    norm = _words(title)
    found = {k for k, p in _KIND_PATTERNS.items() if p.search(norm)}
    return frozenset(found - {"meeting"} if "arrival" in found else found)


def _words(text: str) -> str:
    return " ".join(_STAGE_WORDS.findall(unicodedata.normalize("NFKC", text).lower()))


def _subjects(norm: str) -> frozenset[str]:
    return frozenset(s for s, p in _SUBJECT_PATTERNS.items() if p.search(norm))


# A participle before a noun says who, not what happened: "생포된 북한군 2명의 진술",
# "задержанные перебежчики", "Captured North Korean soldier asks...": their capture is
# behind them; the development is what they say or what is done with them now.
# Each pattern's group 1 is what precedes the participle, kept when it is taken out.
_ATTRIBUTIVE = (
    # Korean: whom it describes within three words ("생포된 우크라이나 파병 북한군"), not a
    # dependent noun ("체포된 것으로 알려져", "북송한 뒤": the predicate of a clause)
    re.compile(
        r"()[\uac00-\ud7a3]*(?:생포|붙잡|체포|구금|검거|송환|북송|추방|인계)(?:된|한|힌|당한)"
        r"(?! (?:것|듯|뒤|후|이후|직후|지|데|채|바|가운데)(?:으로|이|은|는|을|를|에|도|만|로)?"
        r"(?!\S))"
        r"(?=(?: \S+){0,2} \S*"
        r"(?:북한군|탈북|주민|노동자|근로자|병사|군인|포로|여성|일가족|어민|선원|北))"
    ),
    # ... and an agreement "under a newly signed treaty", "체결한 조약", "подписанное соглашение"
    re.compile(
        r"()[\uac00-\ud7a3]*(?:체결|서명|비준)(?:된|한)"
        r"(?=(?: \S+){0,2} \S*(?:협정|조약|의정서|각서))"
    ),
    re.compile(
        r"()(?<!\w)(?:задержа|арестова|депортирова|выда|высла|переда|экстрадирова|подписа"
        r"|ратифицирова)нн(?:ый|ая|ое|ые|ого|ой|ому|ом|ым|ыми|ых|ую)(?!\w)"
    ),
    # English only after what cannot be its subject ("China arrested North Korean defectors"
    # is a predicate), and right before whom it describes
    re.compile(
        r"(^|\b(?:the|a|an|of|for|with|about|on|says|say|said|s|two|three|both) )"
        r"(?:captured|detained|arrested|deported|repatriated)"
        r"(?= (?:north|n|korean|koreans|dprk|soldiers?|troops|servicemen|pows?|prisoners"
        r"|fighters|workers?|defectors?|refugees|fishermen|women|men|people|nationals)\b)"
    ),
    re.compile(
        r"(\b(?:the|a|an|its|their|s|under|newly) )"
        r"(?:signed|ratified|concluded|inked)"
        r"(?=(?: \S+){0,3} (?:treaty|treaties|agreements?|deals?|pacts?|accords?|protocols?"
        r"|memorandums?|mou)\b)"
    ),
)


def _predicates(norm: str) -> str:
    """``norm`` less its attributive participles (``_ATTRIBUTIVE``)."""
    for pattern in _ATTRIBUTIVE:
        norm = pattern.sub(r"\1", norm)
    return norm


def _stages(norm: str) -> dict[str, str]:
    norm = _predicates(norm)
    out: dict[str, str] = {}
    for process, steps in _STAGE_PATTERNS.items():
        latest = ""
        for step, pattern in steps:
            if pattern.search(norm):
                latest = step
                if step == "announced":  # a plan to sign is not a signing
                    break
        if latest:
            out[process] = latest
    return out


# -- all together ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Anchors:
    names: frozenset[Name]
    hangul: bool  # names are every Korean word (see ``names``)
    counts: frozenset[int]
    approx: frozenset[int]  # counts given as estimates
    title_counts: frozenset[int]
    days: frozenset[int]
    places: frozenset[str]
    title_places: frozenset[str]
    stages: tuple[tuple[str, str], ...]
    subjects: frozenset[str]
    countries: frozenset[str]
    title_countries: frozenset[str]
    kinds: frozenset[str]  # of the headline
    roles: frozenset[Office] = frozenset()
    more: bool = False  # the headline tells of more of something ("two more soldiers")
    ratifier: str = ""  # who ratifies, when the headline names one (``RATIFIERS``)
    matters: str = ""  # what matters an agreement covers (``_matters``)
    treaty: str = ""  # the agreement it is about, as a posting key (``treaty_key``), or ""


def anchors(title: str, summary: str, language: str) -> Anchors:
    body = figures(f"{title}. {summary}")
    head = figures(title)
    found, subjects = stages(title, summary)
    body_places = places(f"{title}. {summary}")
    head_places = places(title)
    claim = _claim(title)
    head_words = _words(title)
    found_anchors = Anchors(
        names=names(title, summary, language),
        hangul=language == "ko" or _is_hangul_text(title + summary),
        counts=body.counts,
        approx=body.approx,
        title_counts=head.counts,
        days=body.days,
        places=body_places,
        title_places=head_places,
        stages=tuple(sorted(found.items())),
        subjects=subjects,
        countries=countries(f"{title}. {summary}") | _implied(body_places),
        title_countries=countries(claim) | _implied(places(claim)),
        # a process the headline (else the lead) speaks of is a kind of event too (escaped /
        # handed back)
        kinds=(kinds(title) | frozenset(_stages(head_words))) or frozenset(found),
        roles=offices(title),  # who the development is about, not whom they met
        more=_MORE.search(head_words) is not None,
        ratifier=ratifier(claim) if found.get("agreement") == "ratified" else "",
        matters=_matters(head_words),
    )
    return replace(found_anchors, treaty=treaty_key(found_anchors))


# -- postings: a report is a candidate for another when they share one of these ------------


def name_key(name: str) -> str:
    return "\x00n" + name[: MIN_NAME + 1]


def place_key(place: str) -> str:
    return "\x00p" + place


def role_key(role: str) -> str:
    return "\x00r" + role


def count_key(count: int) -> str:
    """Figures of 20 or more in buckets a third wide (see ``counts_compatible``)."""
    bucket = count if count < 20 else 1000 + int(math.log(count) / math.log(1.34))
    return f"\x00c{bucket}"


# stages an agreement passes once; it is ratified by each chamber and each party in turn
_ONCE = frozenset(("signed", "in force"))
# who ratifies: the Duma, then the Federation Council, then the president signs the law;
# North Korea's side on its own day
RATIFIERS: dict[str, tuple[str, ...]] = {
    "duma": ("state duma", "duma", "lower house", "госдум*", "государственн* дум*", "하원",
             "두마"),
    "federation council": ("federation council", "upper house", "senators", "совет* федерации",
                           "совфед*", "сенатор*", "상원"),
    "president": ("putin", "путин*", "푸틴"),
    "north korea": ("supreme people s assembly", "presidium", "kim jong un",
                    "верховн* народн* собрани*", "президиум*", "ким чен ын*", "최고인민회의",
                    "김정은"),
}  # fmt: skip
_RATIFIER_PATTERNS = {body: _regex(ps) for body, ps in RATIFIERS.items()}


def ratifier(text: str) -> str:
    """The one body a headline names that ratifies treaties ("" for none, or for several:
    "the Duma ratified the treaty Putin submitted" does not say whose ratification it is).
    Not the lead: it names the president who signed the treaty a year before."""
    norm = _words(text)
    found = [body for body, pattern in _RATIFIER_PATTERNS.items() if pattern.search(norm)]
    return found[0] if len(found) == 1 else ""


def treaty_key(found: Anchors) -> str:
    """The agreement a report is about, as a posting key ("" for none): its subjects, what
    it is and covers (``_matters``), its stage and its parties. Two countries sign one
    readmission agreement, once (``_ONCE``), and each chamber ratifies it once (a
    ratification whose body the headline leaves unsaid is none of them). The parties are the
    countries its headline names, two or more; else, when the headline names one ("Russia
    signs readmission deal", North Korea in the lead), the two the report names."""
    # not workers arriving "under the deal Russia signed", nor an agreement on no known subject
    if "agreement" not in found.kinds or not found.subjects:
        return ""
    stage = dict(found.stages).get("agreement")
    if stage == "ratified" and found.ratifier:
        stage = f"ratified by {found.ratifier}"
    elif stage not in _ONCE:
        return ""
    parties = found.title_countries
    if len(parties) < 2 and len(found.countries) == 2:
        parties = found.countries
    if len(parties) < 2:
        return ""
    subject = "+".join(sorted(found.subjects))  # "legal assistance and extradition": both
    return f"\x00t{subject}/{found.matters}/{stage}/{'+'.join(sorted(parties))}"


# a protocol that implements an agreement is signed by ministries, often on another day (a
# memorandum is not told apart: the English press calls one an agreement)
_PROTOCOL = _regex(("protocol*", "протокол*", "의정서"))
_AGREEMENT = _regex(("agreement*", "treaty", "treaties", "deal", "deals", "pact*", "accord*",
                     "соглашени*", "договор*", "협정", "조약"))  # fmt: skip


def _matters(norm: str) -> str:
    """What the (normalised) headline's agreement is and covers: "protocol" when it names a
    protocol and no agreement; "criminal", "civil" (a treaty on criminal matters is not the
    one on civil matters); "" when unsaid (a lead says what any extradition is for)."""
    found = sorted(m for m, p in _MATTER_PATTERNS.items() if p.search(norm))
    if _PROTOCOL.search(norm) and not _AGREEMENT.search(norm):
        found.insert(0, "protocol")
    return "+".join(found)


def posting_keys(found: Anchors) -> frozenset[str]:
    keys = {name_key(k) for k in name_keys(found.names)}
    if found.treaty:
        keys.add(found.treaty)
    keys.update(count_key(c) for c in found.counts if c >= 3)
    keys.update(f"\x00d{d}" for d in found.days)
    keys.update(place_key(p) for p in found.places)
    keys.update(role_key(r) for r, _ in found.roles)
    return frozenset(keys)


def query_keys(found: Anchors) -> set[str]:
    """Keys of reports that may share an anchor with ``found`` beyond its own keys: figures
    in a neighbouring bucket (500 / 600)."""
    keys: set[str] = set()
    for c in found.counts:
        if c >= 20:
            keys.update((count_key(round(c * 1.34)), count_key(round(c / 1.34))))
    return keys

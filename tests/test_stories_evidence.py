"""What tells one development from another (watcher.stories.anchors and .evidence), on tables
of real-looking headlines in English, Korean and Russian."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watcher.stories import Report, StoryIndex
from watcher.stories.anchors import (
    anchors,
    countries,
    counts_compatible,
    figures,
    kinds,
    names,
    names_match,
    offices,
    skeleton,
    stages,
)
from watcher.stories.evidence import EvidenceWeights, conflict, support
from watcher.stories.text import script_language

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    "spellings",
    [
        ("Krasnov", "Краснов", "크라스노프"),
        ("Zelenskyy", "Zelensky", "Зеленский", "젤렌스키"),
        ("Kolokoltsev", "Колокольцев", "콜로콜체프"),
        ("Khabarovsk", "Хабаровск", "하바롭스크"),
        ("Bastrykin", "Бастрыкин", "바스트리킨"),
        ("Lavrov", "Лавров", "라브로프"),
        ("Mishustin", "Мишустин", "미슈스틴"),
    ],
)
def test_a_name_has_one_skeleton_in_every_script(spellings: tuple[str, ...]) -> None:
    assert len({skeleton(s) for s in spellings}) == 1, {s: skeleton(s) for s in spellings}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Краснов", "Красновым", True),  # a Russian ending
        ("크라스노프", "크라스노프를", True),  # a Korean particle
        ("Krasnov", "Kursk", False),
        ("Краснов", "Курщине", False),  # one more consonant that is no ending: another word
        ("Lavrov", "Lavrentiev", False),
    ],
)
def test_names_match_inflections_not_other_names(a: str, b: str, same: bool) -> None:
    assert names_match(skeleton(a), skeleton(b)) is same


@pytest.mark.parametrize(
    ("title", "summary", "lang", "expected"),
    [
        ("Генпрокурор Краснов прибыл в КНДР", "Генеральный прокурор России Игорь Краснов"
         " впервые посетил Северную Корею.", "ru", {"KRSNP"}),
        ("China's police chief meets Russian interior minister", "Minister of Public Security"
         " Wang Xiaohong met Minister of Internal Affairs Vladimir Kolokoltsev in Beijing.",
         "en", {"PRTMR", "KRKRSP"}),  # "Xiaohong" is "Shenyang" in consonants: not kept
        # Title Case headline words are names only when the summary capitalises them too
        ("Russia Signs Deal to Hand Over North Korean Refugees", "Russia has signed an"
         " agreement, opposition deputy Dmitry Gudkov said.", "en", {"TMTR", "KTKP"}),
    ],
)  # fmt: skip
def test_names_of_a_report(title: str, summary: str, lang: str, expected: set[str]) -> None:
    assert set().union(*names(title, summary, lang)) == expected


@pytest.mark.parametrize(
    ("text", "counts", "approx", "days"),
    [
        ("more than 500 North Koreans on 9 October", {500}, {500}, {9}),
        ("탈북자 600여 명 강제북송", {600}, {600}, set()),
        ("북한과 러시아가 2일(현지시간) 협정에 서명했다", set(), set(), {2}),
        ("北주민 1만3천명 러시아 입국", {13000}, set(), set()),
        ("В Россию въехали более 13 тысяч граждан КНДР 2 февраля 2016 года", {13000},
         {13000}, {2}),
        ("Twelve women and 1,000 workers in 2016", {12, 1000}, set(), set()),
        ("김정욱 선교사 억류 4,000일", {4000}, set(), set()),
    ],
)  # fmt: skip
def test_figures_and_days(text: str, counts: set[int], approx: set[int], days: set[int]) -> None:
    found = figures(text)
    assert (found.counts, found.approx, found.days) == (counts, approx, days)


def test_estimates_are_compatible_exact_figures_are_not() -> None:
    assert counts_compatible(500, 600, frozenset({500}))  # "more than 500" / "600"
    assert not counts_compatible(4000, 5000)  # two exact figures
    assert not counts_compatible(12, 15, frozenset({12}))  # small figures: exact only


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("Russia, North Korea sign agreements on legal assistance and extradition", "",
         {"agreement": "signed", "custody": "returned"}),
        ("러 상원, 북한과의 '범죄인 인도조약' 비준", "", {"agreement": "ratified"}),
        ("북-러, 다음달 2일 불법입국자 송환협정 체결", "",
         {"agreement": "announced", "custody": "returned"}),
        ("Путин подписал закон о ратификации договора с КНДР", "", {"agreement": "ratified"}),
        ("Police detain escaped North Korean worker in Vladivostok", "",
         {"custody": "detained"}),
        ("Chinese police arrest and deport 12 defectors", "", {"custody": "returned"}),
        ("Ukraine says it captured 2 North Korean soldiers", "", {"prisoners": "captured"}),
        # no stage in the headline: the first sentence of the summary
        ("North Korean defectors in Shenyang", "China repatriated 60 of them. Others wait.",
         {"custody": "returned"}),
        ("A significant signal", "", {}),  # not "sign"
        # a participle before whom it describes says who, not what happened
        ("생포된 우크라이나 파병 북한군 2명의 진술", "", {}),
        ("우크라이나에 붙잡힌 北 포로 2명, 한국 망명 의사", "", {}),
        ("우크라이나, 북한군 포로 2명 생포", "", {"prisoners": "captured"}),
        ("지린성서 체포된 탈북여성 12명 투먼 통해 강제북송", "", {"custody": "returned"}),
        # a Korean participle before a dependent noun ends a clause: a predicate
        ("탈북민 5명, 中 선양서 체포된 것으로 알려져", "", {"custody": "detained"}),
        ("탈북민 5명 선양서 북송된 것으로 확인", "", {"custody": "returned"}),
        ("탈북민 체포한 이후 북한 주민 처형", "", {"custody": "detained"}),
        ("체포된 것으로 알려진 탈북민 5명", "", {"custody": "detained"}),
        ("체포된 지역 주민들 석방", "", {}),  # 지역 (region) is no dependent noun 지
        # ... and one that describes no person is a predicate
        ("탈북민 강제북송한 중국 규탄", "", {"custody": "returned"}),
        ("체결한 협정에 따라 북한 노동자 파견", "", {}),
        ("В подписанном соглашении КНДР обязуется принимать граждан", "", {}),
        ("Russia has already signed readmission agreement with North Korea", "",
         {"agreement": "signed"}),
        ("Three captured North Korean soldiers speak", "", {}),
        ("China arrested and deported North Korean defectors", "", {"custody": "returned"}),
        # an agreement "under a newly signed treaty" is not signed by this development
        ("Russia extradites North Korean defector under newly signed treaty", "",
         {"custody": "returned"}),
        ("В рамках подписанного соглашения КНДР направит рабочих", "", {}),
        ("러, 북과 체결한 범죄인 인도조약 비준 절차 돌입", "", {"agreement": "ratified"}),
        ("Задержанные в Китае перебежчики просят о помощи", "", {}),
        ("В Хабаровске задержаны двое сбежавших лесорубов", "", {"custody": "detained"}),
        ("Captured North Korean soldier asks to be sent to Seoul", "", {}),
        ("Two captured North Korean soldiers speak", "", {}),
        ("30 repatriated from Dandong", "", {"custody": "returned"}),
        ("North Korea executes repatriated defector", "", {"custody": "returned"}),
    ],
)  # fmt: skip
def test_stages(title: str, summary: str, expected: dict[str, str]) -> None:
    assert stages(title, summary)[0] == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("North Korean Troops Report Over 5,000 Casualties in Kursk", {"casualties"}),
        ("Курскую область будут восстанавливать 5 тысяч строителей", {"rebuilding"}),
        ("Lavrov meets Kim Jong Un in Wonsan", {"meeting"}),
        ("투먼 구류장서 탈북민 집단 탈옥", {"escape"}),
        ("North Korean workers escaped from a Vladivostok site", {"escape"}),
        ("China repatriates 60 North Korean defectors", set()),  # defectors: who, not what
        ("Chinese and Russian police chiefs meet in Beijing", {"meeting"}),
        # reaching the South, not a visit; bound for it is not there yet
        ("Three North Korean defectors arrive in Seoul via Russia", {"arrival"}),
        ("Lavrov arrives in Pyongyang", {"meeting"}),
        ("북한군 포로 2명 한국행 희망", set()),
    ],
)
def test_kinds(title: str, expected: set[str]) -> None:
    assert kinds(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("생포된 우크라이나 파병 북한군 2명의 진술", {"ukraine", "north korea"}),
        ('젤렌스키 "北포로, 우크라 포로와 교환 가능"', {"ukraine", "north korea"}),
        # the sea off Russia's coast is no news about Japan
        ("Россия передала КНДР пятерых спасенных в Японском море рыбаков",
         {"russia", "north korea"}),
        ("North Korean fishermen rescued in the Sea of Japan", {"north korea"}),
        ("Japan protests North Korean missile launch", {"japan", "north korea"}),
        ("Nine North Koreans detained in Laos", {"laos", "north korea"}),
        ("Thai police arrest North Korean defectors", {"thailand", "north korea"}),
    ],
)  # fmt: skip
def test_countries(title: str, expected: set[str]) -> None:
    assert countries(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        # who says it is not what it is about
        ("North Korean soldier killed himself to avoid capture, Seoul says", {"north korea"}),
        ("Seoul: about 300 North Korean soldiers killed in Kursk", {"north korea", "russia"}),
        ('국정원 "北병사, 생포 위기에 수류탄 자폭 시도"', {"north korea"}),
        ("Шойгу: КНДР направит в Курскую область 6 тысяч строителей",
         {"north korea", "russia"}),
        ("Seoul protests North Korean launch", {"south korea", "north korea"}),
        # only the source after the last comma, or one or two words before a colon or a
        # quotation that ends the headline
        ("North Korean troops deployed to Russia, Seoul says", {"north korea", "russia"}),
        ('러시아, 北에 "파병 감사"', {"russia", "north korea"}),
        ('Japan protests "reckless" North Korean missile launch', {"japan", "north korea"}),
        ("Вьетнам и Россия подписали «меморандум»", {"vietnam", "russia"}),
        ('러시아 北에 "파병 감사"', {"russia", "north korea"}),
        ('Japan slams "reckless launch"', {"japan"}),
        # a country before a colon is a topic, not a source
        ("Ukraine war: North Korean troops sent to Kursk", {"ukraine", "north korea", "russia"}),
    ],
)  # fmt: skip
def test_headline_countries(title: str, expected: set[str]) -> None:
    assert anchors(title, "", "en").title_countries == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Russia's top prosecutor visits North Korea", {("prosecutor general", "russia")}),
        ("러시아 검찰총장, 평양 도착", {("prosecutor general", "russia")}),
        ("Генпрокурор РФ Краснов прибыл с визитом в Пхеньян",
         {("prosecutor general", "russia")}),
        ("Генпрокурор Краснов прибыл в КНДР", {("prosecutor general", "")}),  # whose: unsaid
        ("Министр внутренних дел России прибыл в Пхеньян", {("interior minister", "russia")}),
        ("North Korean defence minister No Kwang Chol visits Russia",
         {("defence minister", "north korea")}),
        ("북한 외무상 최선희, 러시아 방문", {("foreign minister", "north korea")}),
        # the country next to the office, whatever the word order; not a capital, not the
        # country visited, not a compound (방북: visiting North Korea)
        ("В Пхеньян прибыл министр обороны России", {("defence minister", "russia")}),
        ("Россию посетила глава МИД КНДР Цой Сон Хи", {("foreign minister", "north korea")}),
        ("Moscow hosts North Korea's foreign minister", {("foreign minister", "north korea")}),
        ("Prosecutor General of Russia visits Pyongyang", {("prosecutor general", "russia")}),
        ("Russia welcomes foreign minister Choe Son Hui", {("foreign minister", "")}),
        ("In Pyongyang, foreign minister Lavrov meets Kim", {("foreign minister", "")}),
        ("방북 국방장관", {("defence minister", "")}),
        ("북한 국방상 방러", {("defence minister", "north korea")}),
        ("국방상 노광철 방러", {("defence minister", "north korea")}),  # a North Korean title
        # ... but the Korean press calls Japan's foreign minister 외무상 too
        ("외무상 최선희 방러", {("foreign minister", "")}),
        ('이와야 외무상 "北 미사일 용납 못해"', {("foreign minister", "")}),
        ("가미카와 일본 외무상 방한", {("foreign minister", "japan")}),
        ("日 외무상, 北 미사일 규탄", {("foreign minister", "japan")}),
        ("美 국방장관 방한", {("defence minister", "united states")}),
        # an English noun after the office is not its owner; "of the" is
        ("North Korean foreign minister Russia-bound", {("foreign minister", "north korea")}),
        ("Prosecutor General of the Russian Federation arrives",
         {("prosecutor general", "russia")}),
        # a country's name after a preposition says where; an adjective still says whose
        ("В КНДР министр обороны Белоусов провел переговоры", {("defence minister", "")}),
        ("Kim hosts dinner for Russian defence minister", {("defence minister", "russia")}),
        # two readings that disagree say none; two countries' ministers are no one office
        ("Российский министр обороны КНДР", {("defence minister", "")}),
        ("북·러 국방장관 회담", {("defence minister", "")}),
        ("North Korea-Russia foreign minister talks", {("foreign minister", "")}),
        ("In the DPRK foreign minister Lavrov held talks", {("foreign minister", "")}),
        ("로씨야 국방상 평양 도착", {("defence minister", "russia")}),  # the North's spelling
        # two ministers, and a police directorate, are no one office; "главы" is one when one
        # country follows (the singular's genitive)
        ("Главы МИД России и КНДР провели переговоры", set()),
        ("Переговоры между главами МИД России и КНДР", set()),
        ("Встреча с министрами обороны России и КНДР", set()),
        ("Визит главы МИД России в Пхеньян", {("foreign minister", "russia")}),
        ("Главк МВД по Москве задержал двоих", set()),
        ("러시아 외무상 라브로프", {("foreign minister", "russia")}),
        ("러시아의 국방장관 방북", {("defence minister", "russia")}),
        ("In North Korea, foreign minister Lavrov meets Kim", {("foreign minister", "")}),
        ("В КНДР глава МИД России Лавров провел переговоры", {("foreign minister", "russia")}),
        ("Визит министра иностранных дел Северной Кореи", {("foreign minister", "north korea")}),
        ("UN torture committee questions China", {("committee against torture", "")}),
        ("유엔 고문방지위원회, 中대표단에 탈북민 북송 추궁", {("committee against torture", "")}),
        # not the holder: a deputy, a former or an acting one; prosecutors are not the
        # prosecutor general; a rapporteur may be any of the UN's
        ("Делегация во главе с заместителем генпрокурора России", set()),
        ("Deputy head of Russia's Investigative Committee visits Pyongyang", set()),
        ("Deputy Prosecutor General visits Pyongyang", set()),
        ("Former defence minister Kim Yong-hyun arrested", set()),
        ("국방장관 직무대행 방북", set()),
        ("Российские прокуроры перенимают опыт северокорейских", set()),
        ("UN rapporteur on torture visits China", set()),
    ],
)  # fmt: skip
def test_offices(title: str, expected: set[tuple[str, str]]) -> None:
    assert offices(title) == expected


def _a(title: str, summary: str = "", lang: str = "en"):  # type: ignore[no-untyped-def]
    return anchors(title, summary, lang)


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        # where
        (_a("Police detain escaped worker in Vladivostok"),
         _a("Police detain escaped worker in Khabarovsk"), "places"),
        # two cities of one region are two places, whoever also names the region
        (_a("Police detain escaped North Korean worker in Nakhodka"),
         _a("North Korean worker detained in Vladivostok"), "places"),
        (_a("China arrests five North Korean defectors in Dandong", "Police in Liaoning"
            " province detained them."), _a("Five North Korean defectors arrested in Shenyang"),
         "places"),
        # how many
        (_a("China repatriates about 60 defectors"), _a("China sends 12 women back"),
         "figures"),
        # the stage of a process: announced, signed, ratified
        (_a("북-러, 다음달 2일 불법입국자 송환협정 체결", lang="ko"),
         _a("러·북, 불법 체류자 송환 협정 체결…탈북자 강제 송환 위험", lang="ko"), "stage"),
        (_a("Russia, North Korea sign extradition treaty"),
         _a("러 상원, 북한과의 '범죄인 인도조약' 비준", lang="ko"), "stage"),
        (_a("Russian police detain North Korean worker in Moscow"),
         _a("Moscow police hand over North Korean worker to embassy"), "stage"),
        # who ratifies: each body's ratification is its own development
        (_a("Kim Jong Un ratifies extradition treaty with Russia", "North Korea's leader"
            " signed a decree after Vladimir Putin signed the law."),
         _a("Putin signs law ratifying extradition treaty with North Korea", "Russia and"
            " North Korea signed the treaty in 2015."), "stage"),
        # what about: extradition treaty, readmission agreement
        (_a("Russia ratifies extradition treaty with North Korea"),
         _a("Госдума ратифицировала соглашение о реадмиссии с КНДР", lang="ru"), "subject"),
        # what happened
        (_a("North Korean troops: 5,000 casualties in Kursk"),
         _a("5 тысяч северокорейских строителей будут восстанавливать Курскую область",
            lang="ru"), "kind"),
        # about whom: Vietnam's prosecutors are not North Korea's
        (_a("Vietnam and Russia boost procuracy cooperation", "Krasnov met Vietnam's"
            " prosecutor."), _a("Генпрокурор Краснов прибыл в КНДР", lang="ru"), "countries"),
        # days apart
        (_a("x", "Signed on 2 February."), _a("y", "Signed on 26 February."), "dates"),
        # a headline that names no kind of event is read by its lead's first sentence
        (_a("Chinese police hunt escaped North Korean inmates after Jilin prison break",
            "They broke out of a detention centre in Tumen."),
         _a("China sends 12 North Korean women back through Tumen crossing",
            "Twelve women arrested in Jilin were repatriated through the Tumen crossing."),
         "kind"),
        # workers who arrive are not workers who flee, unless they reach the South
        (_a("North Korean workers arrive in Vladivostok"),
         _a("Северокорейские рабочие сбежали во Владивостоке", lang="ru"), "kind"),
        # defectors reaching Seoul are not defectors held in China
        (_a("Three North Korean defectors arrive in Seoul"),
         _a("Китай задержал трех перебежчиков из КНДР", lang="ru"), "kind"),
        # a treaty's ratification is not a handover, whatever it enables
        (_a("Russia ratifies extradition treaty with North Korea"),
         _a("모스크바서 체포된 北노동자, 대사관에 인계돼 북송", lang="ko"), "kind"),
    ],
)  # fmt: skip
def test_what_contradicts_a_merge(a: object, b: object, reason: str) -> None:
    assert conflict(a, b) == reason  # type: ignore[arg-type]
    assert conflict(b, a) == reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (_a("Russian Prosecutor General Krasnov arrives in Pyongyang", "Krasnov arrived."),
         _a("Генпрокурор РФ Краснов прибыл с визитом в Пхеньян", lang="ru")),
        (_a("Forced mass repatriation of North Korean escapees", "Chinese authorities"
            " forcibly repatriated more than 500 on 9 October."),
         _a("중국, 수감 탈북자 600여 명 강제북송", lang="ko")),
        # a city and the region it lies in can be one place
        (_a("North Korean workers process seafood in Donggang"),
         _a("Seafood plants in Dandong employ North Korean workers")),
        (_a("North Korean worker detained in Vladivostok"),
         _a("В Приморье задержан сбежавший рабочий из КНДР", lang="ru")),
        (_a("China repatriates North Korean defectors held in Dandong"),
         _a("랴오닝성 수감 탈북민 강제북송", lang="ko")),
        (_a("North Korean defectors arrested in Hunchun"), _a("옌볜서 탈북민 체포", lang="ko")),
        # those who fled reach Seoul: an escape and an arrival are one development
        (_a("Unification ministry: 3 North Korean defectors arrive in Seoul via Russia"),
         _a('통일부 "러시아서 탈출한 北노동자 3명 입국"', lang="ko")),
        # a Korean headline on the two POWs names Ukraine like the English one
        (_a("생포된 우크라이나 파병 북한군 2명", lang="ko"),
         _a("Ukraine says it captured two North Korean soldiers")),
        # the Sea of Japan is not Japan
        (_a("러시아, 동해서 구조한 北어민 5명 북한에 송환", lang="ko"),
         _a("Россия передала КНДР пятерых спасенных в Японском море рыбаков", lang="ru")),
        # places in summaries only are no contradiction (where they were sent, from where)
        (_a("North Korean POW wants to go to South Korea", "He was captured in Kursk."),
         _a("Captured North Korean soldier asks to be moved", "He wants to go to Seoul.")),
    ],
)  # fmt: skip
def test_what_does_not_contradict(a: object, b: object) -> None:
    assert conflict(a, b) == ""  # type: ignore[arg-type]


def test_a_city_and_its_region_are_one_place() -> None:
    weights = EvidenceWeights()
    both = support(
        _a("China arrests North Korean defectors in Dandong, Liaoning"),
        _a("North Korean defectors arrested in Liaoning's Dandong"),
        weights,
    )
    assert both.instance == weights.place  # not twice


def test_support_tells_this_development_from_its_kind() -> None:
    weights = EvidenceWeights()
    krasnov = support(
        _a("Russian Prosecutor General Krasnov arrives in Pyongyang", "Igor Krasnov arrived."),
        _a("Генпрокурор РФ Краснов прибыл с визитом в Пхеньян", lang="ru"),
        weights,
    )
    assert krasnov.instance >= weights.name  # the name (and the place)
    signed = support(
        _a("Russia signs readmission agreement", "Moscow signed it with Pyongyang."),
        _a("Deal on illegal migrants signed with North Korea"),
        weights,
    )
    assert signed.instance == 0 and signed.kind > 0  # the same kind of event, nothing more


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # two countries sign one readmission agreement, once
        ("Russia, North Korea sign readmission agreement",
         "Russia signs deal on illegal migrants with North Korea", True),
        ("러·북, 불법 체류자 송환 협정 체결",
         "Russia Signs Deal on North Korea's illegal migrants", True),
        # a headline that names one party, a report that names two
        ("Russia signs readmission agreement\nMoscow signed it with North Korea on Monday.",
         "Russia, North Korea sign readmission deal", True),
        # a treaty is ratified once by each: the president signs the law once
        ("Putin signs law ratifying extradition treaty with North Korea\nRussia and North"
         " Korea signed it in 2015.", "Путин подписал закон о ратификации договора с КНДР о"
         " выдаче\nРоссия и КНДР подписали его в 2015 году.", True),
        # ... but the Duma, the Federation Council and North Korea are three ratifications,
        # and one whose body is unsaid is none of them
        ("State Duma ratifies extradition treaty with North Korea",
         "Federation Council approves ratification of extradition treaty with North Korea",
         False),
        ("State Duma ratifies extradition treaty with North Korea",
         "North Korea's Supreme People's Assembly ratifies extradition treaty with Russia",
         False),
        ("Russia ratifies extradition treaty with North Korea",
         "Russia, North Korea ratify extradition treaty", False),
        # whose ratification is what the headline says: the lead names the treaty's signer
        ("Russian senators ratify extradition treaty with North Korea\nThe treaty was signed in"
         " Pyongyang during Vladimir Putin's visit.",
         "Putin signs law ratifying extradition treaty with North Korea\nRussia and North"
         " Korea signed it in 2015.", False),
        # another document, other matters
        ("Russia and North Korea sign readmission agreement",
         "МВД России и Минобщественной безопасности КНДР подписали протокол о реадмиссии", False),
        # not when the headline speaks of another kind of event: workers arrive "under the
        # labour deal Russia and North Korea signed"
        ("Russia and North Korea sign labour migration agreement",
         "North Korean workers arrive in Russia under labour migration deal\nThey came under"
         " the labour migration agreement Russia and North Korea signed.", False),
        ("Госдума ратифицировала договор с КНДР о правовой помощи по уголовным делам",
         "Russia's Duma ratifies legal assistance treaty with North Korea on civil matters", False),
        # not when a report leaves a country unsaid, or names another pair
        ("Russia signs readmission agreement", "Russia, North Korea sign readmission deal", False),
        ("Russia, Vietnam sign readmission agreement",
         "Russia, North Korea sign readmission agreement", False),
        # nor for two stages of it, or without a subject
        ("Russia, North Korea to sign readmission agreement",
         "Russia, North Korea sign readmission agreement", False),
        ("Russia, North Korea sign agreement", "Russia signs agreement with North Korea", False),
    ],
)  # fmt: skip
def test_the_same_treaty_at_the_same_stage_is_this_development(
    first: str, second: str, same: bool
) -> None:
    a, b = (
        _a(t.partition("\n")[0], t.partition("\n")[2], lang=script_language(t, "en"))
        for t in (first, second)  # "headline\nlead"
    )
    weights = EvidenceWeights()
    assert support(a, b, weights).instance == (weights.treaty if same else 0.0)


def test_an_office_is_evidence_like_its_holders_name_and_only_once() -> None:
    weights = EvidenceWeights()
    english, korean = (
        _a("Russia's top prosecutor visits North Korea"),
        _a("러시아 검찰총장, 평양 도착", lang="ko"),
    )
    assert english.roles and korean.roles
    assert support(english, korean, weights).instance == weights.role
    both = support(
        _a("Russian Prosecutor General Krasnov arrives in Pyongyang", "Krasnov arrived."),
        _a("Генпрокурор РФ Краснов прибыл в Пхеньян", lang="ru"),
        weights,
    )
    name_only = support(
        _a("Russian official Krasnov arrives in Pyongyang", "Krasnov arrived."),
        _a("Глава ведомства Краснов прибыл в Пхеньян", lang="ru"),
        weights,
    )
    assert both.instance == name_only.instance  # the office is the same person as the name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # one country's minister is not another's, whichever way they travel
        (_a("Russian foreign minister Lavrov visits North Korea"),
         _a("북한 외무상 최선희, 러시아 방문", lang="ko")),
        (_a("러시아 국방장관 벨로우소프 방북", lang="ko"),
         _a("North Korean defence minister No Kwang Chol visits Russia")),
        (_a("Россию посетила глава МИД КНДР Цой Сон Хи", lang="ru"),
         _a("Russian foreign minister Lavrov arrives in North Korea")),
        # neither says whose: not the same office
        (_a("Foreign minister Lavrov heads to North Korea"), _a("외무상 최선희 방러", lang="ko")),
        (_a("일본의 이와야 외무상 방한", lang="ko"),
         _a("North Korean foreign minister Choe Son Hui slams Japan")),
        # Japan's foreign minister, in the Korean press's word for it, is not North Korea's
        (_a("일본 외무상, 北 미사일 발사 규탄", lang="ko"),
         _a("North Korean foreign minister Choe Son Hui slams Japan")),
        # two reports naming two people are about two people, whatever office both name
        (_a("Russia's Prosecutor General Ustinov visits Pyongyang", "Ustinov arrived."),
         _a("Russia's Prosecutor General Krasnov visits Pyongyang", "Krasnov arrived.")),
    ],
)  # fmt: skip
def test_an_office_of_another_country_or_person_is_no_evidence(a: object, b: object) -> None:
    weights = EvidenceWeights()
    assert support(a, b, weights).instance <= weights.place  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("러시아 검찰총장 방북", "러시아 검찰총장 도착"),
        ("러시아 국방부 장관 방북", "러시아 국방부 장관 도착"),
    ],
)
def test_korean_reports_count_a_shared_office_once(a: str, b: str) -> None:
    """Every Korean word is a candidate name, but an office is not one."""
    weights = EvidenceWeights()
    assert support(_a(a, lang="ko"), _a(b, lang="ko"), weights).instance == weights.role


@pytest.mark.parametrize(
    ("title", "more"),
    [("Two more North Korean soldiers captured", True), ("北, 러시아에 추가 파병", True),
     ("More than 500 defectors arrive", False), ("北 또한 발표", False)],
)  # fmt: skip
def test_a_headline_that_tells_of_more(title: str, more: bool) -> None:
    assert _a(title).more is more


def test_the_lead_gives_the_kind_only_when_the_headline_names_none() -> None:
    meets = _a("Russian minister meets North Korean counterpart", "They discussed the return"
               " of defectors.")  # fmt: skip
    assert meets.kinds == {"meeting"}
    sent = _a("China sends 12 North Korean women back", "They were repatriated on Friday.")
    assert sent.kinds == {"custody"}


def test_an_office_both_headlines_name_tells_a_korean_word_is_its_holders_name() -> None:
    weights = EvidenceWeights()
    russian = _a("Генпрокурор РФ Краснов прибыл в КНДР", lang="ru")
    lead = "크라스노프 총장이 도착했다."  # a Korean word that matches the name, in the lead
    with_office = support(_a("러 검찰총장 첫 방북", lead, lang="ko"), russian, weights)
    without = support(_a("러시아 고위 인사 첫 방북", lead, lang="ko"), russian, weights)
    assert without.instance == weights.name * weights.korean_name
    assert with_office.instance == weights.name


@pytest.mark.parametrize(
    ("text", "given", "expected"),
    [
        ("러시아 검찰총장 평양 도착", "en", "ko"),  # a Korean report in a feed said to be English
        ("Генпрокурор Краснов прибыл в КНДР", "", "ru"),
        ("Krasnov arrives in Pyongyang", "ru", "en"),
        ("Krasnov arrives in Pyongyang", "de", "de"),
    ],
)
def test_script_language(text: str, given: str, expected: str) -> None:
    assert script_language(text, given) == expected


def _report(key: str, title: str, summary: str = "", hours: float = 0, lang: str = "en") -> Report:
    return Report(key, title, summary, "", lang, T0 + timedelta(hours=hours))


def test_shared_vocabulary_alone_never_merges() -> None:
    index = StoryIndex()  # every deportation from China reads alike
    first = index.add(_report("a", "China repatriates North Korean defectors",
                              "Chinese authorities sent a group of defectors back."))  # fmt: skip
    again = index.add(_report("b", "North Korean defectors forcibly repatriated by China",
                              "Activists say China forcibly repatriated defectors this week.",
                              hours=2))  # fmt: skip
    assert again.story_id != first.story_id


@pytest.mark.parametrize(
    "titles",
    [
        ("Russia and North Korea to sign readmission agreement on 2 February",
         "Russia and North Korea sign readmission agreement on 2 February",
         "Russia ratifies readmission agreement with North Korea of 2 February"),
        ("Russian police arrest 3 North Korean workers in Vladivostok",
         "Russia deports 3 North Korean workers from Vladivostok"),
    ],
)  # fmt: skip
def test_each_stage_of_a_process_is_a_story(titles: tuple[str, ...]) -> None:
    """Announced / signed / ratified; arrested / deported: the same names, places, figures and
    dates, but each stage is news of its own."""
    index = StoryIndex()
    found = [index.add(_report(str(n), t, t, hours=n)) for n, t in enumerate(titles)]
    assert len({d.story_id for d in found}) == len(titles), found
    assert index.add(_report("again", titles[0], titles[0] + ".", hours=9)).joined

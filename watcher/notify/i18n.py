"""What people read around the feed's own text, in English, Korean and Russian.

One catalogue for the bot's replies, the alert's labels and the email digest: ``say(lang, key,
**values)`` picks the language's text (English when a key is missing, which a test forbids) and
fills in ``{values}``. Topic titles come from ``keywords.yaml``, not from here.
"""

from __future__ import annotations

from typing import Final

from watcher.models import LANGUAGES

DEFAULT: Final = "en"

EN: Final[dict[str, str]] = {
    "topics": "Topics",
    "untitled": "(untitled)",
    "also_reported": "also reported by: ",
    "and_more": " and {n} more",
    "outlets": "{n} outlets",
    "later_add": "later reports add: ",
    "possible_match": "Possible match",
    "possible_why": "the words alone were not enough, but the relevance model finds it close"
    " to earlier alerts on {topics}",
    "details": "score {score} · matched: {terms}",
    "model": "model: {note}",
    "summary_heading": "and {n} more from {source}:",
    "n_more": "… {n} more",
    "reports": "+{n} reports",
    "reports_one": "+1 report",
    "recent_heading": "Latest alerts (times in {zone}):",
    "cmd_start": "Get alerts in this chat",
    "cmd_stop": "Stop alerts",
    "cmd_topics": "Choose topics",
    "cmd_mute": "Pause alerts, e.g. /mute 8h",
    "cmd_unmute": "Resume alerts",
    "cmd_recent": "Latest alerts",
    "cmd_lang": "Language: /lang en, ko or ru",
    "cmd_tz": "Time zone, e.g. /tz Asia/Seoul",
    "cmd_details": "Show scores and matched words: /details on",
    "cmd_help": "What this bot does",
    "help": "I send alerts about North Koreans in Russia and China: arrests and forced returns,"
    " deportation and law-enforcement agreements, forced labour abroad, soldiers and POWs.\n\n"
    "/start - get alerts here\n/stop - stop them\n/topics - choose topics\n"
    "/mute 8h - pause for a while (m, h, d)\n/unmute - resume\n/recent - latest alerts\n"
    "/lang en|ko|ru - language\n/tz Area/City - time zone of alert times\n"
    "/details on|off - show scores and matched words\n/help - this text",
    "subscribed": "Subscribed: alerts will arrive here.",
    "stopped": "Stopped. Send /start to get alerts again.",
    "not_subscribed": "This chat is not subscribed. Send /start first.",
    "start_first": "Send /start first.",
    "admin_only": "Sorry, only the bot's administrators can use this command.",
    "group_admin_only": "Sorry, in a group only its administrators can use this command.",
    "topics_prompt": "Tap a topic to switch it on or off (all on = every topic):",
    "topic_on": "On",
    "topic_off": "Off",
    "topic_unknown": "Unknown topic.",
    "topic_last": "At least one topic must stay on.",
    "mute_usage": "Use /mute 8h (or 30m, 2d).",
    "muted_until": "Muted until {when}. /unmute to resume.",
    "unmuted": "Alerts resumed.",
    "no_alerts": "No alerts yet.",
    "lang_set": "Language: English.",
    "lang_usage": "Use /lang en, /lang ko or /lang ru.",
    "tz_set": "Times are now shown in {zone}.",
    "tz_usage": "Use /tz followed by a time zone, e.g. /tz Asia/Seoul or /tz Europe/Moscow"
    " (/tz UTC to reset). Times are now in {zone}.",
    "tz_unknown": "“{zone}” is not a time zone I know.{hint} Use an Area/City name, e.g."
    " Asia/Seoul, Europe/Moscow, America/New_York.",
    "tz_hint": " Did you mean {zones}?",
    "details_on": "Alerts here now show the score and the matched words.",
    "details_off": "Alerts here no longer show the score and the matched words.",
    "details_usage": "Use /details on or /details off.",
    "digest_heading": "Watcher daily digest",
    "digest_day": "%A %d %B %Y",
    "digest_when": "%d %b %H:%M %Z",
    "digest_nothing": "Nothing new since your last digest.",
    "digest_count": "{n} new alerts since your last digest",
    "digest_count_one": "1 new alert since your last digest",
    "digest_on": ", on {topics}",
    "digest_subject": "Watcher digest {day}: {n} new alerts",
    "digest_subject_one": "Watcher digest {day}: 1 new alert",
    "digest_subject_none": "Watcher digest {day}: nothing new",
    "digest_read_on": "Read on {domain}",
    "digest_archived": "archived copy",
    "digest_times": "Times are in {zone}.",
    "digest_unsubscribe": "To stop these emails, {link}.",
    "digest_unsubscribe_link": "unsubscribe",
    "digest_unsubscribe_text": "Unsubscribe: {link}",
}

KO: Final[dict[str, str]] = {
    "topics": "주제",
    "untitled": "(제목 없음)",
    "also_reported": "다른 보도: ",
    "and_more": " 외 {n}곳",
    "outlets": "{n}개 매체",
    "later_add": "후속 보도 추가 내용: ",
    "possible_match": "관련 가능성",
    "possible_why": "단어만으로는 알림 기준에 못 미치지만, 관련성 모델이 {topics}에 관한 이전"
    " 알림과 비슷하다고 판단했습니다",
    "details": "점수 {score} · 일치한 단어: {terms}",
    "model": "모델: {note}",
    "summary_heading": "{source}에서 {n}건 더:",
    "n_more": "… {n}건 더",
    "reports": "보도 +{n}건",
    "reports_one": "보도 +1건",
    "recent_heading": "최근 알림 ({zone} 기준):",
    "cmd_start": "이 대화방에서 알림 받기",
    "cmd_stop": "알림 중지",
    "cmd_topics": "주제 선택",
    "cmd_mute": "잠시 멈춤, 예: /mute 8h",
    "cmd_unmute": "다시 받기",
    "cmd_recent": "최근 알림",
    "cmd_lang": "언어: /lang en, ko, ru",
    "cmd_tz": "시간대, 예: /tz Asia/Seoul",
    "cmd_details": "점수와 일치한 단어 보기: /details on",
    "cmd_help": "이 봇이 하는 일",
    "help": "러시아와 중국에 있는 북한 사람들에 관한 알림을 보냅니다: 체포와 강제북송, 송환 및"
    " 수사 협력 협정, 해외 강제노동, 군인과 포로.\n\n"
    "/start - 이 대화방에서 알림 받기\n/stop - 알림 중지\n/topics - 주제 선택\n"
    "/mute 8h - 잠시 멈춤 (m, h, d)\n/unmute - 다시 받기\n/recent - 최근 알림\n"
    "/lang en|ko|ru - 언어\n/tz Area/City - 알림 시각의 시간대\n"
    "/details on|off - 점수와 일치한 단어 보기\n/help - 이 도움말",
    "subscribed": "구독했습니다: 이제 여기로 알림이 옵니다.",
    "stopped": "중지했습니다. 다시 받으려면 /start 를 보내세요.",
    "not_subscribed": "이 대화방은 구독하지 않았습니다. 먼저 /start 를 보내세요.",
    "start_first": "먼저 /start 를 보내세요.",
    "admin_only": "죄송합니다. 이 명령은 봇 관리자만 쓸 수 있습니다.",
    "group_admin_only": "죄송합니다. 그룹에서는 그룹 관리자만 이 명령을 쓸 수 있습니다.",
    "topics_prompt": "주제를 눌러 켜거나 끄세요 (모두 켜짐 = 모든 주제):",
    "topic_on": "켜짐",
    "topic_off": "꺼짐",
    "topic_unknown": "알 수 없는 주제입니다.",
    "topic_last": "주제를 하나 이상 켜 두어야 합니다.",
    "mute_usage": "/mute 8h 처럼 쓰세요 (또는 30m, 2d).",
    "muted_until": "{when}까지 알림을 멈춥니다. 다시 받으려면 /unmute.",
    "unmuted": "알림을 다시 보냅니다.",
    "no_alerts": "아직 알림이 없습니다.",
    "lang_set": "언어: 한국어.",
    "lang_usage": "/lang en, /lang ko 또는 /lang ru 로 쓰세요.",
    "tz_set": "이제 시각을 {zone} 기준으로 표시합니다.",
    "tz_usage": "/tz 뒤에 시간대를 쓰세요. 예: /tz Asia/Seoul, /tz Europe/Moscow"
    " (되돌리려면 /tz UTC). 지금은 {zone} 기준입니다.",
    "tz_unknown": "“{zone}”은(는) 알 수 없는 시간대입니다.{hint} Asia/Seoul, Europe/Moscow,"
    " America/New_York 처럼 지역/도시 이름을 쓰세요.",
    "tz_hint": " 혹시 {zones}?",
    "details_on": "이제 이 대화방의 알림에 점수와 일치한 단어를 표시합니다.",
    "details_off": "이제 이 대화방의 알림에 점수와 일치한 단어를 표시하지 않습니다.",
    "details_usage": "/details on 또는 /details off 로 쓰세요.",
    "digest_heading": "Watcher 일일 요약",
    "digest_day": "%Y년 %m월 %d일",
    "digest_when": "%m월 %d일 %H:%M %Z",
    "digest_nothing": "지난 요약 이후 새 알림이 없습니다.",
    "digest_count": "지난 요약 이후 새 알림 {n}건",
    "digest_count_one": "지난 요약 이후 새 알림 1건",
    "digest_on": " ({topics})",
    "digest_subject": "Watcher 요약 {day}: 새 알림 {n}건",
    "digest_subject_one": "Watcher 요약 {day}: 새 알림 1건",
    "digest_subject_none": "Watcher 요약 {day}: 새 알림 없음",
    "digest_read_on": "{domain}에서 읽기",
    "digest_archived": "보관본",
    "digest_times": "시각은 {zone} 기준입니다.",
    "digest_unsubscribe": "이 메일을 그만 받으려면 {link}.",
    "digest_unsubscribe_link": "수신 거부",
    "digest_unsubscribe_text": "수신 거부: {link}",
}

RU: Final[dict[str, str]] = {
    "topics": "Темы",
    "untitled": "(без заголовка)",
    "also_reported": "также сообщили: ",
    "and_more": " и ещё {n}",
    "outlets": "{n} изданий",
    "later_add": "в поздних сообщениях: ",
    "possible_match": "Возможное совпадение",
    "possible_why": "слов недостаточно для оповещения, но модель релевантности считает его"
    " похожим на прежние оповещения по темам: {topics}",
    "details": "балл {score} · совпали: {terms}",
    "model": "модель: {note}",
    "summary_heading": "и ещё {n} от {source}:",
    "n_more": "… ещё {n}",
    "reports": "+{n} сообщ.",
    "reports_one": "+1 сообщ.",
    "recent_heading": "Последние оповещения (время {zone}):",
    "cmd_start": "Получать оповещения в этом чате",
    "cmd_stop": "Остановить оповещения",
    "cmd_topics": "Выбрать темы",
    "cmd_mute": "Пауза, например /mute 8h",
    "cmd_unmute": "Возобновить оповещения",
    "cmd_recent": "Последние оповещения",
    "cmd_lang": "Язык: /lang en, ko или ru",
    "cmd_tz": "Часовой пояс, например /tz Europe/Moscow",
    "cmd_details": "Показывать балл и совпавшие слова: /details on",
    "cmd_help": "Что делает этот бот",
    "help": "Я присылаю оповещения о северокорейцах в России и Китае: задержания и"
    " принудительные возвращения, депортация и соглашения правоохранительных органов,"
    " принудительный труд за рубежом, солдаты и военнопленные.\n\n"
    "/start - получать оповещения здесь\n/stop - остановить\n/topics - выбрать темы\n"
    "/mute 8h - пауза (m, h, d)\n/unmute - возобновить\n/recent - последние оповещения\n"
    "/lang en|ko|ru - язык\n/tz Area/City - часовой пояс для времени\n"
    "/details on|off - показывать балл и совпавшие слова\n/help - эта справка",
    "subscribed": "Подписка оформлена: оповещения будут приходить сюда.",
    "stopped": "Остановлено. Отправьте /start, чтобы снова получать оповещения.",
    "not_subscribed": "Этот чат не подписан. Сначала отправьте /start.",
    "start_first": "Сначала отправьте /start.",
    "admin_only": "Извините, эта команда только для администраторов бота.",
    "group_admin_only": "Извините, в группе эту команду могут использовать только её"
    " администраторы.",
    "topics_prompt": "Нажмите на тему, чтобы включить или выключить её (все включены = все темы):",
    "topic_on": "Вкл.",
    "topic_off": "Выкл.",
    "topic_unknown": "Неизвестная тема.",
    "topic_last": "Хотя бы одна тема должна остаться включённой.",
    "mute_usage": "Используйте /mute 8h (или 30m, 2d).",
    "muted_until": "Пауза до {when}. /unmute, чтобы возобновить.",
    "unmuted": "Оповещения возобновлены.",
    "no_alerts": "Оповещений пока нет.",
    "lang_set": "Язык: русский.",
    "lang_usage": "Используйте /lang en, /lang ko или /lang ru.",
    "tz_set": "Теперь время показывается в поясе {zone}.",
    "tz_usage": "Укажите часовой пояс после /tz, например /tz Europe/Moscow или /tz Asia/Seoul"
    " (/tz UTC, чтобы сбросить). Сейчас время в поясе {zone}.",
    "tz_unknown": "«{zone}» - неизвестный часовой пояс.{hint} Укажите Регион/Город, например"
    " Europe/Moscow, Asia/Seoul, America/New_York.",
    "tz_hint": " Может быть, {zones}?",
    "details_on": "Теперь оповещения здесь показывают балл и совпавшие слова.",
    "details_off": "Оповещения здесь больше не показывают балл и совпавшие слова.",
    "details_usage": "Используйте /details on или /details off.",
    "digest_heading": "Ежедневная сводка Watcher",
    "digest_day": "%d.%m.%Y",
    "digest_when": "%d.%m %H:%M %Z",
    "digest_nothing": "С прошлой сводки ничего нового.",
    "digest_count": "Новых оповещений с прошлой сводки: {n}",
    "digest_count_one": "Новых оповещений с прошлой сводки: 1",
    "digest_on": " (темы: {topics})",
    "digest_subject": "Сводка Watcher {day}: новых оповещений {n}",
    "digest_subject_one": "Сводка Watcher {day}: 1 новое оповещение",
    "digest_subject_none": "Сводка Watcher {day}: ничего нового",
    "digest_read_on": "Читать на {domain}",
    "digest_archived": "архивная копия",
    "digest_times": "Время указано в поясе {zone}.",
    "digest_unsubscribe": "Чтобы не получать эти письма, {link}.",
    "digest_unsubscribe_link": "отпишитесь",
    "digest_unsubscribe_text": "Отписаться: {link}",
}

CATALOGUE: Final[dict[str, dict[str, str]]] = {"en": EN, "ko": KO, "ru": RU}


def language_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` or a stored choice: ko*, ru*, else en."""
    code = (code or "").strip().lower()
    return next((lang for lang in LANGUAGES if code.startswith(lang)), DEFAULT)


def say(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (English when the language is unknown), filled in."""
    text = CATALOGUE.get(lang, EN).get(key) or EN[key]
    return text.format(**values) if values else text

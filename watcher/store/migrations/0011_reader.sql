-- What each reader reads in. A Telegram chat: its language (en, ko, ru), whether the chat chose
-- it with /lang (else it follows the Telegram language of whoever writes to the bot), its time
-- zone ('' = UTC) and whether its alerts show the score and the matched words (/details).
-- A digest recipient: the language of its digests.

ALTER TABLE telegram_chats ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE telegram_chats ADD COLUMN lang_chosen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE telegram_chats ADD COLUMN tz TEXT NOT NULL DEFAULT '';
ALTER TABLE telegram_chats ADD COLUMN details INTEGER NOT NULL DEFAULT 0;
ALTER TABLE digest_recipients ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';

-- Every message a customer can see (theirs, and replies once sent) gets the next number of its
-- conversation: the web chat resumes after the last number a browser holds, and a reply sent
-- late (after an approval, a retry) is numbered when it goes out, never between older ones.
ALTER TABLE conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN seq INTEGER;
UPDATE messages SET seq = r.n FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS n
    FROM messages
    WHERE direction = 'inbound' OR (direction = 'outbound' AND delivery_state IN ('sent', 'delivered', 'read'))
) AS r WHERE messages.id = r.id;
UPDATE conversations SET last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE conversation_id = conversations.id), 0);
CREATE UNIQUE INDEX messages_conversation_seq ON messages(conversation_id, seq) WHERE seq IS NOT NULL;

-- Files a web chat visitor uploaded, kept until their message refers to them (and after).
CREATE TABLE chat_files (
    id          TEXT PRIMARY KEY,
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    visitor     TEXT NOT NULL,
    name        TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX chat_files_visitor ON chat_files(channel_id, visitor, created_at);

-- A visitor who left an e-mail address to be answered by mail when they are gone.
CREATE TABLE chat_followups (
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    thread      TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, thread)
);

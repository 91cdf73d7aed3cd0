-- Switchboard foundation schema (SQLite). Times are microseconds since the Unix epoch.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE channels (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    config     TEXT NOT NULL,
    secret     BLOB NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id),
    user_id  TEXT NOT NULL REFERENCES users(id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    display_name TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE identities (
    channel_id   TEXT NOT NULL REFERENCES channels(id),
    external_id  TEXT NOT NULL,
    contact_id   TEXT NOT NULL REFERENCES contacts(id),
    channel_kind TEXT NOT NULL,
    name         TEXT,
    handle       TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
CREATE INDEX identities_contact ON identities(contact_id);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES channels(id),
    thread          TEXT NOT NULL,
    public          INTEGER NOT NULL,
    contact_id      TEXT NOT NULL REFERENCES contacts(id),
    created_at      INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    UNIQUE (channel_id, thread)
);

CREATE TABLE cases (
    id                TEXT PRIMARY KEY,
    status            TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    team_id           TEXT REFERENCES teams(id),
    assignee_id       TEXT REFERENCES users(id),
    priority          TEXT NOT NULL,
    tags              TEXT NOT NULL,
    contact_id        TEXT NOT NULL REFERENCES contacts(id),
    conversation_id   TEXT NOT NULL REFERENCES conversations(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    resolved_at       INTEGER,
    reopen_count      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_conversation ON cases(conversation_id, id);
CREATE INDEX cases_status ON cases(status, id);
CREATE INDEX cases_contact ON cases(contact_id, id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    channel_id      TEXT NOT NULL REFERENCES channels(id),
    direction       TEXT NOT NULL,
    external_id     TEXT,
    contact_id      TEXT REFERENCES contacts(id),
    user_id         TEXT,
    author_kind     TEXT NOT NULL,
    author_name     TEXT,
    text            TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivery_state  TEXT NOT NULL,
    delivery_error  TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    in_reply_to     TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_external ON messages(channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_case ON messages(case_id, created_at);
CREATE INDEX messages_contact ON messages(contact_id, created_at);
CREATE INDEX messages_outbox ON messages(next_attempt_at) WHERE delivery_state IN ('queued', 'sending');

CREATE TABLE raw_events (
    id           TEXT PRIMARY KEY,
    channel_id   TEXT NOT NULL REFERENCES channels(id),
    external_id  TEXT,
    body         BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    outcome      TEXT,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX raw_events_pending ON raw_events(id) WHERE processed_at IS NULL;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    case_id    TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    details      TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

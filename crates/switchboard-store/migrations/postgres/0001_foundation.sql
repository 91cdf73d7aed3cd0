-- Switchboard foundation schema (PostgreSQL).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE channels (
    id         UUID PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    config     JSONB NOT NULL,
    secret     BYTEA NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id  UUID NOT NULL REFERENCES teams(id),
    user_id  UUID NOT NULL REFERENCES users(id),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE contacts (
    id           UUID PRIMARY KEY,
    display_name TEXT,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE identities (
    channel_id   UUID NOT NULL REFERENCES channels(id),
    external_id  TEXT NOT NULL,
    contact_id   UUID NOT NULL REFERENCES contacts(id),
    channel_kind TEXT NOT NULL,
    name         TEXT,
    handle       TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
CREATE INDEX identities_contact ON identities(contact_id);

CREATE TABLE conversations (
    id              UUID PRIMARY KEY,
    channel_id      UUID NOT NULL REFERENCES channels(id),
    thread          TEXT NOT NULL,
    public          BOOLEAN NOT NULL,
    contact_id      UUID NOT NULL REFERENCES contacts(id),
    created_at      TIMESTAMPTZ NOT NULL,
    last_message_at TIMESTAMPTZ NOT NULL,
    UNIQUE (channel_id, thread)
);

CREATE TABLE cases (
    id                UUID PRIMARY KEY,
    status            TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    team_id           UUID REFERENCES teams(id),
    assignee_id       UUID REFERENCES users(id),
    priority          TEXT NOT NULL,
    tags              JSONB NOT NULL,
    contact_id        UUID NOT NULL REFERENCES contacts(id),
    conversation_id   UUID NOT NULL REFERENCES conversations(id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    first_response_at TIMESTAMPTZ,
    resolved_at       TIMESTAMPTZ,
    reopen_count      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cases_conversation ON cases(conversation_id, id);
CREATE INDEX cases_status ON cases(status, id);
CREATE INDEX cases_contact ON cases(contact_id, id);

CREATE TABLE messages (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases(id),
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    channel_id      UUID NOT NULL REFERENCES channels(id),
    direction       TEXT NOT NULL,
    external_id     TEXT,
    contact_id      UUID REFERENCES contacts(id),
    user_id         UUID,
    author_kind     TEXT NOT NULL,
    author_name     TEXT,
    text            TEXT NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    delivery_state  TEXT NOT NULL,
    delivery_error  TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    in_reply_to     UUID,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX messages_external ON messages(channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_case ON messages(case_id, created_at);
CREATE INDEX messages_contact ON messages(contact_id, created_at);
CREATE INDEX messages_outbox ON messages(next_attempt_at) WHERE delivery_state IN ('queued', 'sending');

CREATE TABLE raw_events (
    id           UUID PRIMARY KEY,
    channel_id   UUID NOT NULL REFERENCES channels(id),
    external_id  TEXT,
    body         BYTEA NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    outcome      TEXT,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX raw_events_pending ON raw_events(id) WHERE processed_at IS NULL;

CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    case_id    UUID,
    data       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_log (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    details      JSONB NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

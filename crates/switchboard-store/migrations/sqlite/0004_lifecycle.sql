-- Lifecycle, SLA actions, expert hand-off, notifications, outbound webhooks and custom
-- purposes (issue 3).

-- Purposes an admin adds beside the five built-in ones.
CREATE TABLE purposes (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL
);

-- A merged case points at the case that absorbed it; its messages moved there.
ALTER TABLE cases ADD COLUMN merged_into TEXT REFERENCES cases(id);
-- When the SLA worker next looks at the case (NULL: nothing is counting).
ALTER TABLE cases ADD COLUMN sla_check_at INTEGER;
-- The SLA warnings and breaches already acted on, as ["first_response:warning", ...].
ALTER TABLE cases ADD COLUMN sla_fired TEXT NOT NULL DEFAULT '[]';
-- Since when the case has its current status, and business time spent pending (it stops
-- the resolution clock).
ALTER TABLE cases ADD COLUMN status_since INTEGER;
ALTER TABLE cases ADD COLUMN paused_micros INTEGER NOT NULL DEFAULT 0;
-- Calendar time spent with outside experts.
ALTER TABLE cases ADD COLUMN expert_micros INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_sla_check ON cases(sla_check_at) WHERE sla_check_at IS NOT NULL;
CREATE INDEX cases_merged_into ON cases(merged_into) WHERE merged_into IS NOT NULL;

-- A note that an expert wrote as a reply for the agent to send.
ALTER TABLE messages ADD COLUMN suggested INTEGER NOT NULL DEFAULT 0;

-- Signed links that let someone outside the contact center answer one case.
CREATE TABLE expert_links (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    email       TEXT NOT NULL,
    name        TEXT,
    question    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    -- The link, sealed with the secret key, so reminders can carry it again.
    token_sealed BLOB NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    remind_at   INTEGER,
    reminders   INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER,
    answered_at INTEGER,
    mailed_at   INTEGER,
    mail_error  TEXT
);
CREATE INDEX expert_links_case ON expert_links(case_id, created_at);
CREATE INDEX expert_links_remind ON expert_links(remind_at) WHERE remind_at IS NOT NULL;

-- What a person should know: an SLA breach, an expert's answer, a review outcome.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    case_id    TEXT REFERENCES cases(id),
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Signed outbound webhooks (a playbook's then.notify), delivered by a worker.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    event           TEXT NOT NULL,
    case_id         TEXT REFERENCES cases(id),
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state IN ('queued', 'sending');
CREATE INDEX webhook_deliveries_case ON webhook_deliveries(case_id, created_at);

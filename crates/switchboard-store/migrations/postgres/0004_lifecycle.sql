-- Lifecycle, SLA actions, expert hand-off, notifications, outbound webhooks and custom
-- purposes (issue 3).

-- Purposes an admin adds beside the five built-in ones.
CREATE TABLE purposes (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);

-- A merged case points at the case that absorbed it; its messages moved there.
ALTER TABLE cases ADD COLUMN merged_into UUID REFERENCES cases(id);
-- When the SLA worker next looks at the case (NULL: nothing is counting).
ALTER TABLE cases ADD COLUMN sla_check_at TIMESTAMPTZ;
-- The SLA warnings and breaches already acted on, as ["first_response:warning", ...].
ALTER TABLE cases ADD COLUMN sla_fired JSONB NOT NULL DEFAULT '[]';
-- Since when the case has its current status, and business time spent pending (it stops
-- the resolution clock).
ALTER TABLE cases ADD COLUMN status_since TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN paused_micros BIGINT NOT NULL DEFAULT 0;
-- Calendar time spent with outside experts.
ALTER TABLE cases ADD COLUMN expert_micros BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_sla_check ON cases(sla_check_at) WHERE sla_check_at IS NOT NULL;
CREATE INDEX cases_merged_into ON cases(merged_into) WHERE merged_into IS NOT NULL;

-- A note that an expert wrote as a reply for the agent to send.
ALTER TABLE messages ADD COLUMN suggested BOOLEAN NOT NULL DEFAULT false;

-- Signed links that let someone outside the contact center answer one case.
CREATE TABLE expert_links (
    id          UUID PRIMARY KEY,
    case_id     UUID NOT NULL REFERENCES cases(id),
    email       TEXT NOT NULL,
    name        TEXT,
    question    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    -- The link, sealed with the secret key, so reminders can carry it again.
    token_sealed BYTEA NOT NULL,
    created_by  UUID NOT NULL REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    remind_at   TIMESTAMPTZ,
    reminders   BIGINT NOT NULL DEFAULT 0,
    revoked_at  TIMESTAMPTZ,
    answered_at TIMESTAMPTZ,
    mailed_at   TIMESTAMPTZ,
    mail_error  TEXT
);
CREATE INDEX expert_links_case ON expert_links(case_id, created_at);
CREATE INDEX expert_links_remind ON expert_links(remind_at) WHERE remind_at IS NOT NULL;

-- What a person should know: an SLA breach, an expert's answer, a review outcome.
CREATE TABLE notifications (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    case_id    UUID REFERENCES cases(id),
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Signed outbound webhooks (a playbook's then.notify), delivered by a worker.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    url             TEXT NOT NULL,
    event           TEXT NOT NULL,
    case_id         UUID REFERENCES cases(id),
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state IN ('queued', 'sending');
CREATE INDEX webhook_deliveries_case ON webhook_deliveries(case_id, created_at);

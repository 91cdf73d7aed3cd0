-- Classifier models a workspace installs (for example its intents), every version kept; one
-- active per kind.
CREATE TABLE models (
    kind        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    bytes       BYTEA NOT NULL,
    digest      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, version)
);

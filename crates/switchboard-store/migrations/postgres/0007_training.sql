-- Labelled examples agents make by correcting a case's purpose or a message's intent; the
-- learning loop retrains on them.
CREATE TABLE training_examples (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    label       TEXT NOT NULL,
    case_id     UUID REFERENCES cases(id),
    message_id  UUID REFERENCES messages(id),
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX training_examples_kind ON training_examples(kind, created_at);

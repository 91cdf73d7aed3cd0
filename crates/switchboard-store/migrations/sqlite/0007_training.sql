-- Labelled examples agents make by correcting a case's purpose or a message's intent; the
-- learning loop retrains on them.
CREATE TABLE training_examples (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    label       TEXT NOT NULL,
    case_id     TEXT REFERENCES cases(id),
    message_id  TEXT REFERENCES messages(id),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX training_examples_kind ON training_examples(kind, created_at);

-- What the learning loop last decided, per model kind, kept so that a restart (or another
-- node) does not retrain on corrections already judged: the newest correction decided on
-- (training example ids are UUIDv7, so they sort by time), and the outcome.
CREATE TABLE learning_state (
    kind            TEXT PRIMARY KEY,
    decided_through TEXT NOT NULL,
    decided_at      INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    detail          TEXT NOT NULL
);
-- A message's latest correction replaces its earlier ones.
CREATE INDEX training_examples_message ON training_examples(kind, message_id);

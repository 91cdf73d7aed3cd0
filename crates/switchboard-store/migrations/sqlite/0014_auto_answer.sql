-- Automatic answers. A playbook rule with then.auto_answer queues the new case here, in the
-- transaction that creates it; a worker answers it with the best public article when
-- retrieval is confident enough, or records why not. The row follows the answer's fate:
-- pending → answered | held (waiting for a reviewer) | skipped (reason), then answered →
-- confirmed (the customer thanked) | reopened (the customer wrote back: a person takes over).
CREATE TABLE auto_answers (
    case_id     TEXT PRIMARY KEY REFERENCES cases(id),
    message_id  TEXT NOT NULL REFERENCES messages(id),
    policy      TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT,
    article_id  TEXT,
    confidence  REAL,
    reply_id    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX auto_answers_state ON auto_answers(state, created_at);

-- How a resolved case was resolved, when it was not by a person: 'deflected' (an automatic
-- answer). Cleared when the case reopens.
ALTER TABLE cases ADD COLUMN resolution TEXT;

-- What the understanding step made of each inbound message (intent, purpose, sentiment,
-- language, personal data), as JSON.
ALTER TABLE messages ADD COLUMN understanding JSONB;

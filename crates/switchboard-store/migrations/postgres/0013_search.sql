-- Full-text search over every message: an expression index PostgreSQL keeps in step with the
-- table in the same transaction, so a crash loses no index update.
CREATE INDEX messages_text_search ON messages USING GIN (to_tsvector('simple', text));

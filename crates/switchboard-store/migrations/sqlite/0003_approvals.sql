-- Approvals (issue 3): a reply held for review names the reviewing team; the reviewer and
-- their comment are kept.
ALTER TABLE messages ADD COLUMN review_team_id TEXT REFERENCES teams(id);
ALTER TABLE messages ADD COLUMN reviewed_by TEXT REFERENCES users(id);
ALTER TABLE messages ADD COLUMN review_comment TEXT;
CREATE INDEX messages_pending_approval ON messages(review_team_id, created_at) WHERE delivery_state = 'pending_approval';

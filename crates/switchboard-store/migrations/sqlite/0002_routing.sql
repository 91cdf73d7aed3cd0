-- Routing (issue 3): playbook versions, how teams assign, member skills, agent availability,
-- contact tags and author signals, and each case's routing record.
CREATE TABLE playbooks (
    version       INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    digest        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    restored_from INTEGER
);

ALTER TABLE teams ADD COLUMN slug TEXT;
UPDATE teams SET slug = id;
CREATE UNIQUE INDEX teams_slug ON teams(slug);
ALTER TABLE teams ADD COLUMN strategy TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE teams ADD COLUMN capacity INTEGER;
ALTER TABLE teams ADD COLUMN overflow_team_id TEXT REFERENCES teams(id);
ALTER TABLE teams ADD COLUMN hours TEXT;
ALTER TABLE teams ADD COLUMN last_assigned_id TEXT;

ALTER TABLE team_members ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE users ADD COLUMN last_assigned_at INTEGER;

ALTER TABLE contacts ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE identities ADD COLUMN followers INTEGER;
ALTER TABLE identities ADD COLUMN verified INTEGER;

ALTER TABLE cases ADD COLUMN routing TEXT;
ALTER TABLE cases ADD COLUMN approval_team_id TEXT REFERENCES teams(id);
ALTER TABLE cases ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_assignee ON cases(assignee_id, status);
CREATE INDEX cases_team ON cases(team_id, status, id);
CREATE INDEX cases_created ON cases(created_at, id);

-- The knowledge base: articles and canned responses, each a JSON document (its checked draft)
-- with a version; every version is kept in kb_revisions. A workspace's knowledge base is
-- thousands of entries: they are searched in memory, not here.
CREATE TABLE kb_items (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    archived_at INTEGER
);
CREATE INDEX kb_items_kind ON kb_items(kind, created_at);
CREATE TABLE kb_revisions (
    item_id     TEXT NOT NULL REFERENCES kb_items(id),
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (item_id, version)
);

-- The knowledge base: articles and canned responses, each a JSON document (its checked draft)
-- with a version; every version is kept in kb_revisions. A workspace's knowledge base is
-- thousands of entries: they are searched in memory, not here.
CREATE TABLE kb_items (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL,
    data        JSONB NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    archived_at TIMESTAMPTZ
);
CREATE INDEX kb_items_kind ON kb_items(kind, created_at);
CREATE TABLE kb_revisions (
    item_id     UUID NOT NULL REFERENCES kb_items(id),
    version     BIGINT NOT NULL,
    data        JSONB NOT NULL,
    actor_name  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, version)
);

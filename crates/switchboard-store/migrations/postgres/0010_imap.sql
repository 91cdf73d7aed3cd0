-- Where each e-mail channel's IMAP fetch stands: the mailbox, its UIDVALIDITY and the highest
-- UID stored. A changed UIDVALIDITY means the UIDs were renumbered: the mailbox is read again
-- from the start (Message-IDs keep what was stored from being stored twice).
CREATE TABLE imap_cursors (
    channel_id  UUID PRIMARY KEY REFERENCES channels(id),
    mailbox     TEXT NOT NULL,
    uidvalidity BIGINT NOT NULL,
    last_uid    BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
-- A team's own e-mail identity: replies on its cases come from this address, signed so.
ALTER TABLE teams ADD COLUMN email_from TEXT;
ALTER TABLE teams ADD COLUMN email_signature TEXT;

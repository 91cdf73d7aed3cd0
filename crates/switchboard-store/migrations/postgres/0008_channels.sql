-- Social and messaging channels: what providers send beyond text, and private replies.
-- attachments: JSON list of references ({kind,url,provider_id,mime_type,name}).
-- reply_to_external: the provider's id of the message an inbound message answers or quotes.
-- original_text: the text as first received, kept when the customer edits it.
-- reactions: JSON list of {author_id,name,emoji}.
-- private_reply: an outbound answer to a public comment sent privately (Meta private reply,
-- X DM); one per comment.
ALTER TABLE messages ADD COLUMN attachments JSONB;
ALTER TABLE messages ADD COLUMN reply_to_external TEXT;
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN original_text TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN reactions JSONB;
ALTER TABLE messages ADD COLUMN private_reply BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX messages_private_reply ON messages(in_reply_to) WHERE private_reply;
-- Receipts that arrived before the send that they report on was recorded; applied when it is.
CREATE TABLE early_receipts (
    channel_id  UUID NOT NULL,
    external_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    error       TEXT,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel_id, external_id, state)
);

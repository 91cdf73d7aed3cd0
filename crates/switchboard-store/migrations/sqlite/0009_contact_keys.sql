-- One person, several contact records: what ties them (phone numbers and e-mail addresses in
-- canonical form, see switchboard_core::contact_key) and where a merged record went.
-- source: identity (the identity's id is the key), agent (typed in), message (the customer
-- wrote it in a private message; too weak to suggest a merge alone).
ALTER TABLE contacts ADD COLUMN merged_into TEXT REFERENCES contacts(id);
CREATE TABLE contact_keys (
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (contact_id, kind, value)
);
CREATE INDEX contact_keys_value ON contact_keys(kind, value);
-- Pairs an agent said are two people, so they are not suggested again (a < b).
CREATE TABLE contacts_distinct (
    a          TEXT NOT NULL REFERENCES contacts(id),
    b          TEXT NOT NULL REFERENCES contacts(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (a, b)
);
-- A reply sent as an approved WhatsApp template: {name, language, parameters}.
ALTER TABLE messages ADD COLUMN template TEXT;
-- The identities that already are keys: Twilio numbers (E.164) and WhatsApp ids.
INSERT INTO contact_keys (contact_id, kind, value, source, created_at)
    SELECT contact_id, 'phone', external_id, 'identity', created_at FROM identities
    WHERE channel_kind = 'twilio' AND external_id LIKE '+%'
    ON CONFLICT DO NOTHING;
INSERT INTO contact_keys (contact_id, kind, value, source, created_at)
    SELECT contact_id, 'phone', '+' || external_id, 'identity', created_at FROM identities
    WHERE channel_kind = 'whatsapp' AND external_id NOT GLOB '*[^0-9]*' AND length(external_id) BETWEEN 8 AND 15
    ON CONFLICT DO NOTHING;

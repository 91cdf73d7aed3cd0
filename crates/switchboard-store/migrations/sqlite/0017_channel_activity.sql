-- The admin page shows when each channel last heard from its provider: the newest raw event
-- of a channel, found without scanning the others'.
CREATE INDEX raw_events_channel ON raw_events(channel_id, id);

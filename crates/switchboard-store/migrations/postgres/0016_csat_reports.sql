-- Customer satisfaction (the playbook's [csat]): after a person resolves a case, one question
-- on the case's conversation; the customer's score from 1 to 5. csat_state: 'asked' or
-- 'answered'; csat_message_id is the question, which reports do not count as a reply.
ALTER TABLE cases ADD COLUMN csat_state TEXT;
ALTER TABLE cases ADD COLUMN csat_score BIGINT;
ALTER TABLE cases ADD COLUMN csat_asked_at TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN csat_answered_at TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN csat_message_id TEXT;

-- Reports pick the cases whose customer wrote in a range by the customers' messages' own times.
CREATE INDEX messages_inbound_sent ON messages(sent_at, case_id) WHERE direction = 'inbound';

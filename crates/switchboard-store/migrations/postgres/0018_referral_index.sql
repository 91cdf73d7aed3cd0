-- Every KPI report reads the cases' referrals from the audit log: found through their own
-- small index instead of a scan of the whole log, which grows with every change to a case.
CREATE INDEX audit_log_referrals ON audit_log(seq) WHERE action = 'case.referred';

-- A playbook simulation reads each case's purpose correction (a person's, kept as a training
-- example): found by the case instead of a scan of every example of its kind.
CREATE INDEX training_examples_case ON training_examples(case_id, kind);

-- What one applied transfer asks of PostgreSQL, statement for statement as
-- cellreg runs it (find the member, lock it, idempotency check, destination
-- under a share lock, the open membership, feed counter, event, close, open,
-- audit counter, previous hash, audit row), in one transaction: the baseline
-- for ingestion. One pgbench transaction = one transfer.
\set m random(1, :members)
\set k random(1, 270000)
BEGIN;
SELECT id AS member_id FROM member WHERE national_id = lpad(:m::text, 12, '0') \gset
SELECT id FROM member WHERE id = :member_id FOR UPDATE;
SELECT id FROM transfer_event WHERE submitter = 'pgbench' AND external_id = 'pg-' || :client_id || '-' || :m;
SELECT id AS to_id FROM organization WHERE code = 'S' || lpad(:k::text, 6, '0') \gset
SELECT id, status FROM organization WHERE id = :to_id FOR SHARE;
SELECT id AS closing_id, organization_id AS from_id FROM membership
  WHERE member_id = :member_id AND kind = 'OFFICIAL' AND ended_at IS NULL \gset
UPDATE counter SET last_value = last_value + 1 WHERE name = 'transfer_event' RETURNING last_value AS seq \gset
INSERT INTO transfer_event (sequence, submitter, external_id, request_hash, member_id, from_organization_id,
    to_organization_id, kind, reason, decision_ref, effective_at, recorded_at, member_full_name, member_status)
  VALUES (:seq, 'pgbench', 'pg-' || :seq, repeat('0', 64), :member_id, :from_id, :to_id, 'OFFICIAL', 'RELOCATION',
    NULL, now(), now(), 'Đảng viên', 'OFFICIAL') RETURNING id AS event_id \gset
UPDATE membership SET ended_at = now(), closed_by_event_id = :event_id WHERE id = :closing_id AND ended_at IS NULL;
INSERT INTO membership (member_id, organization_id, kind, started_at, ended_at, opened_by_event_id, closed_by_event_id)
  VALUES (:member_id, :to_id, 'OFFICIAL', now(), NULL, :event_id, NULL);
UPDATE counter SET last_value = last_value + 1 WHERE name = 'audit_log' RETURNING last_value AS audit_seq \gset
SELECT coalesce((SELECT hash FROM audit_log WHERE seq = :audit_seq - 1), repeat('0', 64)) AS prev_hash \gset
INSERT INTO audit_log (seq, occurred_at, subject, role, action, target, outcome, error_code, request_id, scope_path, prev_hash, hash)
  VALUES (:audit_seq, now(), 'pgbench', 'ADMIN', 'submitTransfer', 'pg-' || :seq, 'ALLOWED', NULL, NULL, NULL, :prev_hash,
    encode(sha256((:prev_hash || :audit_seq)::bytea), 'hex'));
COMMIT;

-- Loads a synthetic registry of :members members into a freshly migrated
-- cellreg database: 1 province, 10 districts, 17 communes each, 16 cells per
-- commune (1 agency, 1 military, 14 residential): 2,720 cells. Member i has
-- national ID lpad(i, 12, '0'), is admitted into cell (i mod 2720) with an
-- admission event and an open OFFICIAL membership. Everything in SQL, in one
-- transaction, so millions of rows load in minutes.
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
VALUES ('VP', 'Tỉnh ủy Vĩnh Phúc', 'PROVINCIAL_COMMITTEE', NULL, 'ACTIVE', NULL, 'pending:VP', 0, now(), now());
UPDATE organization SET path = '/' || id || '/' WHERE code = 'VP';

INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'VP.D' || d, 'Huyện ủy ' || d, 'DISTRICT_COMMITTEE', NULL, 'ACTIVE', p.id, 'pending:' || d, 1, now(), now()
FROM generate_series(1, 10) d, organization p WHERE p.code = 'VP';
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 1;

INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT p.code || '.C' || c, 'Đảng ủy xã ' || p.code || '.' || c, 'GRASSROOTS_COMMITTEE', NULL, 'ACTIVE', p.id, 'pending:' || p.code || '.' || c, 2, now(), now()
FROM generate_series(1, 17) c, organization p WHERE p.depth = 1;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 2;

INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT p.code || '.K' || k, 'Chi bộ ' || p.code || '.' || k, 'CELL',
       CASE k WHEN 1 THEN 'AGENCY' WHEN 2 THEN 'MILITARY' ELSE 'RESIDENTIAL' END,
       'ACTIVE', p.id, 'pending:' || p.code || '.' || k, 3, now(), now()
FROM generate_series(1, 16) k, organization p WHERE p.depth = 2;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 3;

CREATE TEMP TABLE cells AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM organization WHERE kind = 'CELL';

INSERT INTO member (national_id, party_card_number, full_name, birth_date, admitted_on, official_on, status, residence_cell_id, created_at, updated_at)
SELECT lpad(i::text, 12, '0'), 'PC' || i, 'Đảng viên ' || i, DATE '1970-01-01' + (i % 9000), DATE '2000-01-01', DATE '2001-01-01',
       'OFFICIAL', c.id, now(), now()
FROM generate_series(1, :members) i JOIN cells c ON c.n = i % 2720;

INSERT INTO transfer_event (sequence, submitter, external_id, request_hash, member_id, from_organization_id, to_organization_id, kind, reason, decision_ref, effective_at, recorded_at, member_full_name, member_status)
SELECT m.id, 'bench-loader', 'admission-' || m.id, repeat('0', 64), m.id, NULL, m.residence_cell_id, 'OFFICIAL', 'ADMISSION', NULL,
       TIMESTAMPTZ '2000-01-01 00:00:00+00', now(), m.full_name, m.status
FROM member m;
UPDATE counter SET last_value = (SELECT max(sequence) FROM transfer_event) WHERE name = 'transfer_event';

INSERT INTO membership (member_id, organization_id, kind, started_at, ended_at, opened_by_event_id, closed_by_event_id)
SELECT e.member_id, e.to_organization_id, 'OFFICIAL', e.effective_at, NULL, e.id, NULL FROM transfer_event e;

COMMIT;
VACUUM ANALYZE;

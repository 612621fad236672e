-- The peer's dataset (../peer/seed.sql) in cellreg's own schema, so that
-- cellreg, PostGraphile and raw PostgreSQL answer the same questions about the
-- same registry: 1 province 'P', 700 districts 'D001'.., 10,000 communes
-- 'C00001'.. (27 cells each: 1 agency, 1 military, 25 residential), 270,000
-- cells 'S000001'..; member i (national ID lpad(i, 12, '0'), same name, birth
-- and admission as the peer's) sits in cell 'S' || lpad((i - 1) % 270000 + 1, 6, '0').
-- Run on a database that `cellreg migrate up` has just made.
\set ON_ERROR_STOP on
\if :{?members}
\else
  \set members 5500000
\endif
BEGIN;
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
VALUES ('P', 'Provincial Committee', 'PROVINCIAL_COMMITTEE', NULL, 'ACTIVE', NULL, 'pending:P', 0, now(), now());
UPDATE organization SET path = '/' || id || '/' WHERE code = 'P';

INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'D' || lpad(d::text, 3, '0'), 'District Committee ' || d, 'DISTRICT_COMMITTEE', NULL, 'ACTIVE', p.id,
       'pending:D' || d, 1, now(), now()
FROM generate_series(1, 700) d, organization p WHERE p.code = 'P' ORDER BY d;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 1;

CREATE TEMP TABLE districts AS SELECT row_number() OVER (ORDER BY id) AS n, id, path FROM organization WHERE depth = 1;
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'C' || lpad(c::text, 5, '0'), 'Commune Committee ' || c, 'GRASSROOTS_COMMITTEE', NULL, 'ACTIVE', d.id,
       'pending:C' || c, 2, now(), now()
FROM generate_series(1, 10000) c JOIN districts d ON d.n = 1 + (c - 1) % 700 ORDER BY c;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 2;

CREATE TEMP TABLE communes AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM organization WHERE depth = 2;
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'S' || lpad(x::text, 6, '0'), 'Cell ' || x, 'CELL',
       CASE (x - 1) % 27 WHEN 0 THEN 'AGENCY' WHEN 1 THEN 'MILITARY' ELSE 'RESIDENTIAL' END,
       'ACTIVE', c.id, 'pending:S' || x, 3, now(), now()
FROM generate_series(1, 270000) x JOIN communes c ON c.n = 1 + (x - 1) / 27 ORDER BY x;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 3;

-- The tree's history (migration 000010): one open version per organization.
INSERT INTO organization_version (organization_id, valid_from, valid_to, parent_id, path, depth, name, status)
SELECT id, created_at, NULL, parent_id, path, depth, name, 'ACTIVE' FROM organization ORDER BY id;

CREATE TEMP TABLE cells AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM organization WHERE kind = 'CELL';

INSERT INTO member (national_id, party_card_number, full_name, birth_date, admitted_on, official_on, status,
                    residence_cell_id, created_at, updated_at)
SELECT lpad(i::text, 12, '0'), 'PC' || lpad(i::text, 9, '0'),
       (ARRAY['Nguyen','Tran','Le','Pham','Hoang','Vu','Dang','Bui','Do','Ho'])[1 + (i % 10)::int]
         || ' ' || (ARRAY['Van','Thi','Duc','Minh'])[1 + (i / 10 % 4)::int] || ' ' || i,
       date '1950-01-01' + (i * 7919 % 14600)::int,
       date '1950-01-01' + (i * 7919 % 14600)::int + 6575 + (i % 3650)::int,
       date '1950-01-01' + (i * 7919 % 14600)::int + 6575 + (i % 3650)::int + 365,
       'OFFICIAL', c.id, now(), now()
FROM generate_series(1::bigint, :members) i JOIN cells c ON c.n = (i - 1) % 270000
ORDER BY i;

INSERT INTO transfer_event (sequence, submitter, external_id, request_hash, member_id, from_organization_id,
                            to_organization_id, kind, reason, decision_ref, effective_at, recorded_at)
SELECT m.id, 'sbs-loader', 'admission-' || m.id, repeat('0', 64), m.id, NULL, m.residence_cell_id, 'OFFICIAL',
       'ADMISSION', NULL, m.admitted_on::timestamptz, now()
FROM member m ORDER BY m.id;
UPDATE counter SET last_value = (SELECT max(sequence) FROM transfer_event) WHERE name = 'transfer_event';

INSERT INTO membership (member_id, organization_id, kind, started_at, ended_at, opened_by_event_id, closed_by_event_id)
SELECT e.member_id, e.to_organization_id, 'OFFICIAL', e.effective_at, NULL, e.id, NULL FROM transfer_event e ORDER BY e.id;
COMMIT;
VACUUM ANALYZE;

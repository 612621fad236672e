-- What the service asks PostgreSQL for a member-by-national-ID lookup with
-- cell and committee, as one prepared statement: the baseline.
\set i random(1, :members)
SELECT m.id, m.full_name, o.code, p.code
FROM member m
JOIN membership ms ON ms.member_id = m.id AND ms.kind = 'OFFICIAL' AND ms.ended_at IS NULL
JOIN organization o ON o.id = ms.organization_id
LEFT JOIN organization p ON p.id = o.parent_id
WHERE m.national_id = lpad(:i::text, 12, '0');

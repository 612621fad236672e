-- Baseline for "a cell's first 50 members": the page and the members.
\set d random(1, 10)
\set c random(1, 17)
\set k random(1, 16)
SELECT m.full_name
FROM organization o
JOIN membership ms ON ms.organization_id = o.id AND ms.ended_at IS NULL
JOIN member m ON m.id = ms.member_id
WHERE o.code = 'VP.D' || :d || '.C' || :c || '.K' || :k
ORDER BY ms.id
LIMIT 50;

-- Baseline for "a committee's cells with member counts".
\set d random(1, 10)
\set c random(1, 17)
SELECT o.code, (SELECT count(*) FROM membership ms WHERE ms.organization_id = o.id AND ms.ended_at IS NULL AND ms.kind = 'OFFICIAL')
FROM organization o
JOIN organization p ON p.id = o.parent_id
WHERE p.code = 'VP.D' || :d || '.C' || :c
ORDER BY o.id
LIMIT 50;

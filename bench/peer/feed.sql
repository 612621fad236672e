-- The change feed's events in the peer's schema: one admission per member, as
-- cellreg's loader records them (run after seed.sql; the id order is the feed order).
INSERT INTO transfer_events (external_id, member_id, from_org, to_org, reason, effective_at)
SELECT 'admission-' || ms.member_id, ms.member_id, NULL, ms.organization_id, 'admission', ms.started_at
  FROM memberships ms ORDER BY ms.id;

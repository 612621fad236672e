-- Q4: a page of 500 feed events after a random event.
\set after random(1, 5499000)
SELECT id, external_id, member_id, from_org, to_org, reason, effective_at, recorded_at
  FROM transfer_events WHERE id > :after ORDER BY id LIMIT 501;

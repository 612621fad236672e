-- Q4 on cellreg's schema: a page of 500 feed events after a random sequence.
\set after random(0, 5499000)
SELECT * FROM transfer_event WHERE sequence > :after ORDER BY sequence LIMIT 501;

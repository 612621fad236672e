"""Uses the client openapi-python-client generated (package `cellreg_client`)
against a server on the freshly seeded Sông Lô demo, as an integrator would:
every answer must parse into the documented type."""

import sys
import uuid
from datetime import datetime

from cellreg_client import AuthenticatedClient
from cellreg_client.api.members import membership
from cellreg_client.api.organizations import active_members
from cellreg_client.api.transfers import feed, submit_events
from cellreg_client.models import (
    ActiveMembersPage,
    ErrorCode,
    EventPhase,
    FeedPage,
    ItemStatus,
    MemberPlacement,
    Problem,
    TransferBatch,
    TransferBatchResult,
    TransferEventInput,
    TransferReason,
)

base, token, reader_token = sys.argv[1:4]
client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)
reader = AuthenticatedClient(base_url=base, token=reader_token, raise_on_unexpected_status=True)


def expect(value, kind, what):
    assert isinstance(value, kind), f"{what}: expected {kind.__name__}, got {value!r}"
    return value


# A member of the first cell of Tam Sơn, and where they are.
page = expect(active_members.sync(client=client, code="SL.TS.T01", limit=1), ActiveMembersPage, "members")
national_id = page.members[0].national_id
placed = expect(membership.sync(client=client, national_id=national_id), MemberPlacement, "membership")
assert placed.cell.code == "SL.TS.T01", placed

# Submit a transfer, then the same key with other content.
key = f"ci-{uuid.uuid4()}"
move = TransferEventInput(
    external_id=key,
    member_national_id=national_id,
    to_organization_code="SL.TS.T02",
    reason=TransferReason.RELOCATION,
)
answer = expect(submit_events.sync(client=client, body=TransferBatch(events=[move])), TransferBatchResult, "submit")
applied = answer.results[0]
assert applied.status == ItemStatus.APPLIED, applied
other = TransferEventInput(
    external_id=key,
    member_national_id=national_id,
    to_organization_code="SL.TS.T03",
    reason=TransferReason.RELOCATION,
)
answer = expect(submit_events.sync(client=client, body=TransferBatch(events=[move, other])), TransferBatchResult, "resubmit")
assert answer.results[0].status == ItemStatus.DUPLICATE, answer.results[0]
assert answer.results[0].event_id == applied.event_id
conflict = answer.results[1]
assert conflict.status == ItemStatus.REJECTED, conflict
assert conflict.error.code == ErrorCode.CONFLICT and conflict.error.index == 1, conflict.error

# Page the feed, one event a page, from the demo's admissions to the head:
# the demo's letter steps, then the transfer, last, without a gap.
after, seen = 2197, []
while True:
    feed_page = expect(feed.sync(client=client, after=after, limit=1), FeedPage, "feed")
    seen += feed_page.events
    after = feed_page.next_after
    if not feed_page.has_more:
        break
assert [event.sequence for event in seen] == list(range(2198, applied.sequence + 1)), seen
assert {event.phase for event in seen[:-1]} <= {EventPhase.DEPARTED, EventPhase.ARRIVED, EventPhase.RETURNED}, seen
event = seen[-1]
assert event.phase == EventPhase.COMPLETED, event
assert event.reason == TransferReason.RELOCATION and event.to_organization_code == "SL.TS.T02", event
assert isinstance(event.effective_at, datetime) and event.effective_at.tzinfo is not None, event.effective_at

# Problems, typed: 404, 403, 400 naming its field, 401.
missing = expect(membership.sync(client=client, national_id="000000000000"), Problem, "404")
assert missing.code == ErrorCode.NOT_FOUND and missing.status == 404, missing
forbidden = expect(membership.sync(client=reader, national_id=national_id), Problem, "403")
assert forbidden.code == ErrorCode.FORBIDDEN, forbidden
bad = expect(feed.sync(client=client, limit=0), Problem, "400")
assert bad.code == ErrorCode.BAD_USER_INPUT and bad.field == "limit", bad
anonymous = AuthenticatedClient(base_url=base, token="not-a-token", raise_on_unexpected_status=True)
refused = expect(feed.sync(client=anonymous), Problem, "401")
assert refused.code == ErrorCode.UNAUTHENTICATED, refused
print("generated-client: submitted, paged the feed, read 404/403/400/401 problems")

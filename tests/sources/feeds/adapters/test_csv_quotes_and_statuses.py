"""Mapped registers: a council's own status words mapped to our stages, and a CSV whose quote never closes."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from sources.feeds.adapters import ADAPTERS
from sources.feeds.adapters.csv_reading import MAX_RECORD_LINES
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support.feeds import Doc, FeedServer, add_served

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MAPPING = {'map.key': 'Ref', 'map.summary': 'Proposal', 'map.status': 'Status'}
WORDS = {'status.Approved': 'decided', 'status.Out to  consultation': 'consultation', 'status.Under appeal': 'appeal'}


def _parse(body: bytes, options: dict[str, str], kind: str = 'planning-csv') -> Parsed:
    return ADAPTERS[kind].parse(Page('https://council.example/x.csv', body, 'text/csv'), options, source='t', now=NOW)


def test_a_councils_own_status_words_map_to_our_stages_and_an_unknown_word_is_rejected_by_line() -> None:
    body = (
        b'Ref,Proposal,Status\n'
        b'A/1,Loft conversion,APPROVED\n'
        b'A/2,Rear extension,out to consultation\n'
        b'A/3,Garage,Deferred to committee\n'
        b'A/4,Porch,Under Appeal\n'
        b'A/5,Shed,\n'  # no status: worked out as usual
    )
    parsed = _parse(body, {**MAPPING, **WORDS})

    kinds = {event.external_key: event.kind for event in parsed.events}
    assert kinds == {'A/1': 'planning.decided', 'A/2': 'planning.consultation', 'A/4': 'planning.appeal',
                     'A/5': 'planning.new'}  # fmt: skip
    [rejected] = parsed.rejected
    assert rejected.where == 'line 4'
    assert rejected.reason == (  # its line and column, not the feed's own word
        'its status (Status) is not in the status mapping: add --option "status.<the word>=<stage>" (stages: new, '
        'consultation, amended, decided, appeal)'
    )
    # without a mapping the words are worked out as before: nothing rejected
    assert _parse(body, MAPPING).rejected == []


def test_licensing_has_its_own_stages_and_a_wrong_stage_or_a_missing_status_column_is_a_source_error() -> None:
    body = b'Ref,Premises,Status\nL/1,The Bull,Called in\n'
    options = {'map.key': 'Ref', 'map.title': 'Premises', 'map.status': 'Status', 'status.called in': 'hearing'}
    assert _parse(body, options, 'licensing-csv').events[0].kind == 'licensing.hearing'
    with pytest.raises(SourceError, match=r"option status.called in='appeal': not a licensing stage \(stages: new"):
        _parse(body, {**options, 'status.called in': 'appeal'}, 'licensing-csv')
    with pytest.raises(SourceError, match='need to know which column holds the status: --option map.status='):
        _parse(body, {'map.key': 'Ref', 'status.called in': 'hearing'}, 'licensing-csv')


def test_an_unclosed_quote_is_reported_where_it_opened_and_the_records_after_it_are_kept() -> None:
    good = [f'B/{n},Extension phase {n},Approved\n'.encode() for n in range(1, 80)]
    body = b'Ref,Proposal,Status\n' + good[0] + b'B/X,"Dormer window,Approved\n' + b''.join(good[1:])
    parsed = _parse(body, {**MAPPING, **WORDS})

    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('line 3', f'a quoted field that starts on this line is not closed (it ran on for {MAX_RECORD_LINES} '
                   'lines); this line was skipped and reading went on from line 4'),
    ]  # fmt: skip
    assert [event.external_key for event in parsed.events] == [f'B/{n}' for n in range(1, 80)]


def test_an_unclosed_quote_that_pairs_up_with_a_later_quote_is_caught_by_its_column_count() -> None:
    body = (
        b'Ref,Proposal,Status\n'
        b'E/1,"Dormer window,Approved\n'
        b'E/2,"Extension, rear",Approved\n'
        b'E/3,"Garage, side",Approved\n'
    )
    parsed = _parse(body, {**MAPPING, **WORDS})
    assert [event.external_key for event in parsed.events] == ['E/2', 'E/3']
    assert [r.where for r in parsed.rejected] == ['line 2'] and 'not closed' in parsed.rejected[0].reason


def test_an_unclosed_quote_near_the_end_of_the_file_does_not_swallow_the_last_records() -> None:
    body = (
        b'Ref,Proposal,Status\n'
        b'C/1,"A description\nover two lines",Approved\n'  # a real multi-line field is fine
        b'C/2,"Never closed,Approved\n'
        b'C/3,Garage,Approved\n'
        b'C/4,Porch,Approved\n'
    )
    parsed = _parse(body, {**MAPPING, **WORDS})
    assert [event.external_key for event in parsed.events] == ['C/1', 'C/3', 'C/4']
    assert parsed.events[0].summary == 'A description\nover two lines'
    [rejected] = parsed.rejected
    assert rejected.where == 'line 4' and 'not closed (it ran on for 3 lines)' in rejected.reason


async def test_over_http_the_broken_line_is_on_the_source_and_the_rest_are_recorded(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    rows = [f'D/{n},Shop front {n},Approved\n'.encode() for n in range(1, 70)]
    body = (
        b'Ref,Proposal,Status\n' + b''.join(rows[:10]) + b'D/BAD,"Signage,Out to consultation\n' + b''.join(rows[10:])
    )
    await add_served(pg, feeds, 'quotes', 'planning-csv', {'/weekly.csv': Doc(body)}, options={**MAPPING, **WORDS})

    result = await poll_source(pg, 'quotes', now=NOW)

    assert (result.counts['new'], result.counts['rejected']) == (69, 1), result.summary()
    assert result.problems[0].where == 'line 12' and 'not closed' in result.problems[0].reason
    kinds = await pg.fetch("select distinct kind from events where source = 'quotes'")
    assert [row['kind'] for row in kinds] == ['planning.decided']
    polls = await pg.fetchval('select problems from source_polls order by id desc limit 1')
    assert polls[0]['where'] == 'line 12'

"""Reading a resident's text as a person would (pure: notifier/receipts/text_commands.py), and the words of the
answers: next collections per bin, moved ones marked, in English and Welsh, short enough for a text."""

from __future__ import annotations

from datetime import date

import pytest

from notifier.receipts.text_commands import (
    Command,
    collections_text,
    language_of,
    next_collections,
    parse,
    short_date,
    stage_text,
    working_days,
)
from notifier.receipts.text_replies import intent
from templates.registry import SMS_CHARACTER_LIMIT, notice_message, preview


@pytest.mark.parametrize(
    'message',
    ['BINS', 'bins', 'Bins please', ' bins.  PLEASE! ', 'bin', 'NEXT', 'next bin day?', 'When is my bin day?',
     'BINIAU', 'Biniau os gwelwch yn dda', 'binnau plîs', 'BNIS', 'binz', 'Bins pls 🙏', 'ｂｉｎｓ', 'B-I-N-S',
     'bins\u0000', 'Hi, bins please, thanks', 'fy miniau plîs', 'Pryd mae fy miniau?', 'finiau'],
)  # fmt: skip
def test_bins_in_its_forgiving_forms(message: str) -> None:
    assert parse(message) == Command('bins')


@pytest.mark.parametrize(
    'message', ['HELP', 'help?', 'Cymorth', 'CYMROTH', 'hlep', 'Help please', 'helpu', 'gymorth', 'fy nghymorth']
)
def test_help_in_english_welsh_and_typos(message: str) -> None:
    assert parse(message) == Command('help')


@pytest.mark.parametrize(
    ('message', 'reference'),
    [('FMS-20417', 'FMS-20417'), ('fms-20417', 'FMS-20417'), ('Case FMS-20417 please', 'FMS-20417'),
     ('ref: 113447/HHA/26.', '113447/HHA/26'), ('Achos ENF/2026/0042', 'ENF/2026/0042'), ('20417?', '20417')],
)  # fmt: skip
def test_a_case_reference_alone_or_with_a_few_words(message: str, reference: str) -> None:
    assert parse(message) == Command('case', reference)


@pytest.mark.parametrize(
    'message',
    ['My bin was missed, can someone call me?', 'The bins were not collected on Tuesday', 'I called about FMS-20417 '
     'and nobody came', 'FMS-1 FMS-2', 'bins FMS-20417', 'case status', 'Please don’t stop', 'x' * 918,
     'bins ' * 200, 'hello'],
)  # fmt: skip
def test_anything_else_is_a_message_for_staff(message: str) -> None:
    assert parse(message) == Command('other')


@pytest.mark.parametrize(('message', 'kind'), [('Thanks!', 'thanks'), ('Diolch yn fawr', 'thanks'), ('ok', 'thanks'),
                                               ('👍', 'empty'), ('', 'empty'), ('   ', 'empty'), ('?!', 'empty'),
                                               ('\ud83d', 'empty'), ('\ufffd', 'empty')])  # fmt: skip
def test_thanks_and_symbols_are_not_commands(message: str, kind: str) -> None:
    assert parse(message).kind == kind


def test_stop_and_start_keep_their_own_reading() -> None:
    assert intent('stop bins') == 'stop' and parse('stop bins').kind == 'other'
    assert intent('bins') is None


@pytest.mark.parametrize(
    ('message', 'language'),
    [('BINS', 'en'), ('bins please', 'en'), ('HELP', 'en'), ('FMS-20417', 'en'), ('next bin day?', 'en'),
     ('BINIAU', 'cy'), ('binnau plîs', 'cy'), ('fy miniau', 'cy'), ('gymorth', 'cy'), ('Cymorth', 'cy'),
     ('CYMROTH', 'cy'), ('helpu', 'cy'),
     ('Achos ENF/2026/0042', 'cy'), ('Pryd mae fy miniau?', 'cy'), ('Diolch yn fawr', 'cy'), ('Sut mae', 'cy'),
     ('Mae gen i gwestiwn am y ffens', 'cy'), ('', 'en'), ('👍', 'en'),
     ('when is yr bin day', 'en'), ('wot time r ma bins', 'en'), ('is fy bin out?', 'en'), ('sut?', 'en'),
     ('Mae, bins', 'en'), ('bins diolch', 'en')],
)  # fmt: skip
def test_the_language_a_text_asks_in(message: str, language: str) -> None:
    """Welsh only when the text clearly is: a Welsh command word, or several Welsh words. English text-speak ("yr"
    for your) or one Welsh word in an English text ("diolch" is English in Wales too) is not Welsh."""
    assert language_of(message) == language


def test_a_very_long_reference_is_not_looked_up() -> None:
    assert parse('A1' * 30) == Command('other')


SCHEDULE = {'Refuse': ['2026-12-02', '2026-12-09', '2026-12-16'], 'Recycling': ['2026-12-16', '2026-12-30'],
            'Garden waste': ['2026-11-25']}  # fmt: skip


def test_each_bins_next_collection_soonest_first_with_moved_ones_marked() -> None:
    moved = [{'type': 'Recycling', 'date': '2026-12-16', 'date_text': 'Wednesday 16 December', 'usual_day': ''}]
    text = next_collections(SCHEDULE, moved, date(2026, 12, 3), 'en')
    assert text == 'Refuse: Wed 9 Dec. Recycling: Wed 16 Dec (moved).'
    assert next_collections(SCHEDULE, moved, date(2026, 12, 3), 'cy') == (
        'Refuse: Mer 9 Rhag. Recycling: Mer 16 Rhag (wedi symud).'
    )
    assert next_collections(SCHEDULE, None, date(2026, 12, 2), 'en').startswith('Refuse: Wed 2 Dec.'), 'today counts'
    assert next_collections(SCHEDULE, None, date(2027, 1, 1), 'en') == '', 'nothing listed ahead'


def test_a_schedule_with_odd_values_gives_what_it_can() -> None:
    odd = {'Refuse': ['not a date', '2026-12-09'], 'Glass': 'weekly', '<b>Food</b>': ['2026-12-04']}
    assert next_collections(odd, 'nonsense', date(2026, 12, 3), 'en') == '<b>Food</b>: Fri 4 Dec. Refuse: Wed 9 Dec.'


def test_several_addresses_each_named_and_kept_short() -> None:
    places = [(f'{n} A Rather Long Street Name In Stretford', 'Refuse: Wed 9 Dec. Recycling: Wed 16 Dec.')
              for n in range(1, 6)]  # fmt: skip
    text = collections_text(places, 'en')
    assert text.startswith('1 A Rather Long Street Name In Stretford: Refuse: Wed 9 Dec.')
    assert len(text) <= 240 and '5 A Rather' not in text
    assert collections_text([('1 High St', '')], 'en') == 'no dates listed.'


def test_stages_dates_and_days_in_both_languages() -> None:
    assert stage_text('assessing', 'Being assessed', 'cy') == 'Yn cael ei asesu'
    assert stage_text('our_own_stage', 'Waiting for parts', 'en') == 'Waiting for parts'
    assert stage_text(None, None, 'en') == 'updated'
    assert short_date(date(2026, 12, 9), 'en') == 'Wed 9 Dec'
    assert (working_days(1, 'en'), working_days(2, 'en'), working_days(2, 'cy')) == (
        '1 working day', '2 working days', '2 diwrnod gwaith',
    )  # fmt: skip


@pytest.mark.parametrize('language', ['en', 'cy'])
def test_a_typical_answer_is_one_or_two_fragments(language: str) -> None:
    collections = next_collections(SCHEDULE, None, date(2026, 12, 3), language)
    bins = preview(notice_message('text-bins', channel='sms', language=language, collections=collections))
    assert bins.fragments == 1 and bins.characters <= 160, bins.body
    help_text = preview(notice_message('text-help', channel='sms', language=language))
    assert help_text.fragments <= 2 and help_text.characters < SMS_CHARACTER_LIMIT
    many = collections_text([(f'{n} High Street', collections) for n in range(3)], language)
    assert preview(notice_message('text-bins', channel='sms', language=language, collections=many)).fragments <= 2

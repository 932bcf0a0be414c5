"""Log lines (notifier/logs.py): one JSON object a line with time, level, logger, message and the context it was
written in, whichever logger wrote it; and the safety net that keeps email addresses, phone numbers and link
tokens out of them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, datetime

import pytest

from notifier import logs
from tests.support.logs import captured_logs

EMAIL = 'jo.bloggs+news@example.co.uk'
MOBILES = ('07700 900123', '07700900123', '+447700900123', '447700900123', '+44 7700 900123', '+44 (0)7700 900123',
           '07700-900-123', '0044 7700 900123')  # fmt: skip


def test_a_line_is_one_json_object_with_time_level_logger_and_message() -> None:
    with captured_logs() as captured:
        logging.getLogger('notifier.test').info('polled %d sources\nin %s', 3, 'a minute')
    [line] = captured.lines()
    assert captured.text.count('\n') == 1, 'one line, whatever the message holds'
    assert line['level'] == 'INFO' and line['logger'] == 'notifier.test'
    assert line['message'] == 'polled 3 sources\nin a minute'
    when = datetime.fromisoformat(line['time'])
    assert when.tzinfo is not None and when.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert line['time'].endswith('Z') and abs((datetime.now(UTC) - when).total_seconds()) < 60


def test_the_context_reaches_lines_of_any_logger_and_extra_fields_are_kept() -> None:
    with captured_logs() as captured:
        with logs.log_context(request_id='abc123', source='trafford-planning'):
            logging.getLogger('asyncpg.pool').debug('a library line')
            with logs.log_context(notification_id='n-1'):
                logging.getLogger('notifier.x').warning('ours', extra={'event_id': 7, 'status': 201})
        logging.getLogger('notifier.x').info('after')
    library, ours, after = captured.lines()
    assert library['request_id'] == 'abc123' and library['source'] == 'trafford-planning'
    assert 'notification_id' not in library
    assert ours['request_id'] == 'abc123' and ours['notification_id'] == 'n-1'
    assert ours['event_id'] == 7 and ours['status'] == 201
    assert not set(logs.CONTEXT_FIELDS) & set(after), 'the context ends with its block'


async def test_tasks_keep_their_own_context() -> None:
    async def handle(rid: str) -> None:
        with logs.log_context(request_id=rid):
            await asyncio.sleep(0.01)
            logging.getLogger('notifier.x').info('handled')

    with captured_logs() as captured:
        await asyncio.gather(*(handle(f'r{n}') for n in range(5)))
    assert sorted(line['request_id'] for line in captured.lines()) == [f'r{n}' for n in range(5)]


def test_only_known_fields_can_be_bound() -> None:
    with pytest.raises(ValueError, match='not a log context field'):
        logs.bind(email=EMAIL)


@pytest.mark.parametrize('mobile', MOBILES)
def test_an_email_address_or_a_phone_number_that_slips_into_a_line_is_replaced(mobile: str) -> None:
    with captured_logs() as captured:
        details = {'to': [mobile], 'tries': 2, 'why': ValueError(EMAIL)}
        logging.getLogger('notifier.x').warning('Notify refused %s and %s', EMAIL, mobile, extra=details)
        try:
            raise ValueError(f'bad address {EMAIL.upper()} / {mobile}')
        except ValueError:
            logging.getLogger('notifier.x').exception('failed for %s', mobile)
    assert EMAIL not in captured.text.lower() and mobile not in captured.text
    assert mobile.replace(' ', '') not in captured.text.replace(' ', '')
    refused, failed = captured.lines()
    assert refused['message'] == 'Notify refused [email] and [phone]'
    assert refused['to'] == ['[phone]'] and refused['tries'] == 2 and refused['why'] == '[email]'
    assert failed['message'] == 'failed for [phone]'
    assert 'ValueError: bad address [email] / [phone]' in failed['exception']


def test_the_tokens_of_our_links_are_replaced_and_route_templates_kept() -> None:
    with captured_logs() as captured:
        log = logging.getLogger('notifier.x')
        log.info('GET /confirm/{token} 200')
        log.info('link https://tellme.example.gov.uk/unsubscribe/12.AbCdEfGhIjKlMnOpQrStUv?lang=cy')
        log.info('/manage/sign-in/AbCdEfGhIjKlMnOpQrStUv /manage/s/3.xYz_-0123456789ab /e/42.AbCdEfGhIj /e/42')
    template, unsubscribe, others = (line['message'] for line in captured.lines())
    assert template == 'GET /confirm/{token} 200'
    assert unsubscribe == 'link https://tellme.example.gov.uk/unsubscribe/[token]?lang=cy'
    assert others == '/manage/sign-in/[token] /manage/s/[token] /e/42.[token] /e/42'


@pytest.mark.parametrize(
    'text',
    [
        'notification 3fa85f64-5717-4562-b3fc-447700900123 sent',  # a uuid ending in digits
        '0.12s → cron:sweep:1764000000000',  # arq's job ids and timings
        'took 0.0123456789 s at 2026-11-21T09:30:00.123Z',
        'postgresql://tellme@127.0.0.1:5432/tellme',  # a server's URL with its user
        'queued 12345678901 rows',
    ],
)
def test_ids_times_and_counts_are_not_mistaken_for_personal_data(text: str) -> None:
    assert logs.redact(text) == text


def test_text_lines_read_as_before_with_the_context_at_the_end() -> None:
    with captured_logs('text') as captured:
        logging.getLogger('notifier.x').info('plain')
        with logs.log_context(job='cron:sweep:1764000000000', notification_id='n-1'):
            logging.getLogger('notifier.x').info('in a job')
    plain, in_job = captured.text.splitlines()
    assert plain.endswith(' INFO notifier.x: plain')
    assert in_job.endswith(' INFO notifier.x: in a job [notification_id=n-1 job=cron:sweep:1764000000000]')


def test_configure_writes_through_one_handler_however_often_it_is_called() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    first, second = io.StringIO(), io.StringIO()
    try:
        logs.configure('info', 'json', first)
        logs.configure('INFO', 'json', second)
        logging.getLogger('notifier.x').info('once')
        logging.getLogger('aiohttp.access').info('127.0.0.1 "GET /confirm/1.secret HTTP/1.1" 200')
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger('aiohttp.access').setLevel(logging.NOTSET)
        logging.captureWarnings(False)
    assert first.getvalue() == ''
    [line] = second.getvalue().splitlines()
    assert json.loads(line)['message'] == 'once', "aiohttp's access log is off: ours replaces it"

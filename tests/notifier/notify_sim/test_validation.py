"""Tests for the Notify simulator's pure validation and rendering library (no server, no database)."""

from datetime import datetime

import pytest

from notifier.notify_sim.rules import recipients, rendering, schemas
from notifier.notify_sim.rules.recipients import (
    InternationalNotAllowed,
    InvalidRecipient,
    is_smoke_test,
    normalise_phone_number,
    simulated_outcome,
    validate_email_address,
    validate_postal_address,
)
from notifier.notify_sim.rules.rendering import (
    is_empty,
    missing_personalisation,
    placeholders,
    render,
    sms_fragment_count,
    sms_too_long,
    too_long_message,
)
from notifier.notify_sim.rules.schemas import validate_request

TEMPLATE_ID = 'f6895ff7-86e0-4d38-80ab-c9525856c3ff'
NOW = datetime(2026, 5, 1, 12, 0, 0)


# --- phone numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'number',
    [
        '07700900123',
        '07700 900 123',
        '+44 7700 900123',
        '+447700900123',
        '0044 7700 900123',
        '(07700) 900-123',
        '+44 (0)7700 900123',
        '7700900123',  # leading zero lost, e.g. by a spreadsheet
        '447700900123',
        ' 07700\u00a0900123\u200b ',
        '0+447700900123',  # stray leading zero before the plus
        '+07700900123',  # plus without a country code
        '000007700900123',  # run of leading zeros
    ],
)
def test_uk_mobiles_normalise_to_e164_digits_without_plus(number: str) -> None:
    assert normalise_phone_number(number) == '447700900123'


@pytest.mark.parametrize(
    ('number', 'message'),
    [
        ('020 7946 0000', 'Not a UK mobile number'),
        ('01632 960 001', 'Not a UK mobile number'),
        ('0800 123 4567', 'Not a UK mobile number'),
        ('0300 123 4567', 'Not a UK mobile number'),
        ('+44 20 7946 0000', 'Not a UK mobile number'),
        ('07700 90012', 'Not enough digits'),
        ('0770', 'Not enough digits'),
        ('07700 9001234', 'Too many digits'),
        ('+44 7700 9001234', 'Too many digits'),
        ('0770090012a', 'Must not contain letters or symbols'),
        ('07700.900.123', 'Must not contain letters or symbols'),
        ('', 'Not enough digits'),
        ('  ', 'Not enough digits'),
        ('+-()', 'Not enough digits'),
    ],
)
def test_invalid_uk_numbers_give_notify_messages(number: str, message: str) -> None:
    with pytest.raises(InvalidRecipient) as raised:
        normalise_phone_number(number, allow_international=True)
    assert str(raised.value) == message


def test_non_string_phone_number_is_refused() -> None:
    with pytest.raises(InvalidRecipient):
        normalise_phone_number(7700900123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ('number', 'expected'),
    [
        ('+1 202 555 0123', '12025550123'),
        ('001 202 555 0123', '12025550123'),
        ('+1 (500) 555-1234', '15005551234'),
        ('+33 6 12 34 56 78', '33612345678'),
        ('+353 85 123 4567', '353851234567'),
    ],
)
def test_international_numbers_when_allowed(number: str, expected: str) -> None:
    assert normalise_phone_number(number, allow_international=True) == expected


def test_international_numbers_refused_without_permission() -> None:
    with pytest.raises(InternationalNotAllowed) as raised:
        normalise_phone_number('+1 202 555 0123')
    assert str(raised.value) == 'Cannot send to international mobile numbers'
    assert isinstance(raised.value, InvalidRecipient)


@pytest.mark.parametrize(
    ('number', 'message'),
    [
        ('+999 12345678', 'Not a valid country prefix'),
        ('+1 202 555', 'Not enough digits'),
        ('+1 202 555 0123 45678', 'Too many digits'),
    ],
)
def test_bad_international_numbers(number: str, message: str) -> None:
    with pytest.raises(InvalidRecipient) as raised:
        normalise_phone_number(number, allow_international=True)
    assert str(raised.value) == message


def test_uk_landlines_only_with_the_landline_permission() -> None:
    assert normalise_phone_number('020 7946 0000', allow_uk_landline=True) == '442079460000'
    assert normalise_phone_number('01632 960001', allow_uk_landline=True) == '441632960001'
    with pytest.raises(InvalidRecipient, match='^Too many digits$'):
        normalise_phone_number('020 7946 00000', allow_uk_landline=True)
    with pytest.raises(InvalidRecipient, match='^Number is not valid'):
        normalise_phone_number('06 1234 5678', allow_uk_landline=True)


# --- email addresses -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('address', 'expected'),
    [
        ('resident@example.com', 'resident@example.com'),
        ('  First.Last@Example.gov.uk \u200b', 'First.Last@Example.gov.uk'),
        ("o'brien+bins@council.example.org", "o'brien+bins@council.example.org"),
        ('user@例え.テスト', 'user@例え.テスト'),
        ('user@xn--r8jz45g.xn--zckzah', 'user@xn--r8jz45g.xn--zckzah'),
        ('perm-fail@simulator.notify', 'perm-fail@simulator.notify'),
    ],
)
def test_valid_email_addresses(address: str, expected: str) -> None:
    assert validate_email_address(address) == expected


@pytest.mark.parametrize(
    'address',
    [
        'resident example@example.com',
        'resident@exam ple.com',
        'first..last@example.com',
        'resident@example..com',
        'resident@example',
        'resident@example.c',
        'resident@example.123',
        'resident@-example.com',
        'resident@.example.com',
        '"quoted"@example.com',
        'semi;colon@example.com',
        'resident@@example.com',
        '@example.com',
        'resident@',
        'a' * 310 + '@example.com',
        'resident@' + 'a' * 64 + '.com',
        '',
    ],
)
def test_invalid_email_addresses(address: str) -> None:
    with pytest.raises(InvalidRecipient) as raised:
        validate_email_address(address)
    assert str(raised.value) == 'Not a valid email address'


def test_format_email_address_lower_cases() -> None:
    assert recipients.format_email_address(' Resident@Example.COM ') == 'resident@example.com'


# --- test recipients -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'recipient',
    [
        '07700900000',
        '+44 7700 900111',
        '07700 900 222',
        'simulate-delivered@notifications.service.gov.uk',
        'Simulate-Delivered-2@notifications.service.gov.uk',
        'simulate-delivered-3@notifications.service.gov.uk',
    ],
)
def test_smoke_test_recipients(recipient: str) -> None:
    assert is_smoke_test(recipient)


@pytest.mark.parametrize('recipient', ['07700900123', '07700900002', 'resident@example.com', 'not a number'])
def test_ordinary_recipients_are_not_smoke_tests(recipient: str) -> None:
    assert not is_smoke_test(recipient)


def test_smoke_test_sets_hold_canonical_forms() -> None:
    assert '447700900000' in recipients.SMOKE_TEST_PHONES
    assert all(normalise_phone_number(phone) == phone for phone in recipients.SMOKE_TEST_PHONES)
    assert 'simulate-delivered@notifications.service.gov.uk' in recipients.SMOKE_TEST_EMAILS


@pytest.mark.parametrize(
    ('recipient', 'outcome'),
    [
        ('07700900002', 'permanent-failure'),
        ('+447700900002', 'permanent-failure'),
        ('07700 900 003', 'temporary-failure'),
        ('447700900003', 'temporary-failure'),
        ('perm-fail@simulator.notify', 'permanent-failure'),
        ('Temp-Fail@simulator.notify', 'temporary-failure'),
        ('07700900123', None),
        ('07700900000', None),
        ('resident@example.com', None),
    ],
)
def test_simulated_outcomes(recipient: str, outcome: str | None) -> None:
    assert simulated_outcome(recipient) == outcome


# --- letter addresses ----------------------------------------------------------------------------------------


def _address(*lines: str, last_key: str = 'postcode') -> dict[str, object]:
    personalisation: dict[str, object] = {f'address_line_{index}': line for index, line in enumerate(lines[:-1], 1)}
    personalisation[last_key] = lines[-1]
    return personalisation


@pytest.mark.parametrize(
    'personalisation',
    [
        _address('Ms A Resident', '1 High Street', 'sw1a1aa'),
        _address('Ms A Resident', '1 High Street', 'Leeds', 'LS1 1UR'),
        _address('Ms A Resident', '1 High Street', 'N1 9GU', 'United Kingdom'),
        _address('Ms A Resident', '1 High Street', 'Cardiff', 'CF10 1EP', last_key='address_line_7'),
        _address('Mme A Habitante', '1 Rue de Rivoli', '75001 Paris', 'France', last_key='address_line_7'),
        _address('Mr B', '2 Main St', 'Dublin', 'Republic of Ireland'),
        _address('A', 'B', 'C', 'D', 'E', 'F', 'LS1 1UR'),
    ],
)
def test_valid_letter_addresses(personalisation: dict[str, object]) -> None:
    assert validate_postal_address(personalisation) == []


@pytest.mark.parametrize(
    ('personalisation', 'message'),
    [
        ({}, 'Address must be at least 3 lines'),
        (_address('Ms A Resident', 'SW1A 1AA'), 'Address must be at least 3 lines'),
        (_address('Ms A Resident', '1 High Street', 'England'), 'Address must be at least 3 lines'),
        (_address('Ms A Resident', '', ' , ', 'SW1A 1AA'), 'Address must be at least 3 lines'),
        (_address('NFA', '1 High Street', 'SW1A 1AA'), 'Must be a real address'),
        (_address('Ms A Resident', 'No fixed abode', 'SW1A 1AA'), 'Must be a real address'),
        (_address('Ms A Resident', '1 High Street', 'No Fixed Address', 'SW1A 1AA'), 'Must be a real address'),
    ],
)
def test_invalid_letter_addresses(personalisation: dict[str, object], message: str) -> None:
    assert validate_postal_address(personalisation) == [message]


def test_address_with_blank_line_still_counts_real_lines() -> None:
    assert validate_postal_address(_address('Ms A Resident', '  ', '1 High Street', 'SW1A 1AA')) == []


def test_address_last_line_must_be_postcode_or_country() -> None:
    personalisation = _address('Ms A Resident', '1 High Street', 'Nowhere')
    assert validate_postal_address(personalisation) == [
        'Last line of address must be a real UK postcode or another country'
    ]
    assert validate_postal_address(personalisation, allow_international_letters=False) == ['Must be a real UK postcode']
    assert validate_postal_address(_address('Ms A Resident', '1 High Street', 'QQ1 1AA')) == [
        'Last line of address must be a real UK postcode or another country'
    ]


def test_international_address_needs_the_permission() -> None:
    personalisation = _address('Mme A', '1 Rue de Rivoli', '75001 Paris', 'France')
    assert validate_postal_address(personalisation, allow_international_letters=False) == ['Must be a real UK postcode']


def test_address_lines_must_not_start_with_printer_characters() -> None:
    assert validate_postal_address(_address('Ms A Resident', '(1) High Street', 'SW1A 1AA')) == [
        'Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >'
    ]


def test_address_with_too_many_lines() -> None:
    personalisation = {f'address_line_{index}': f'Line {index}' for index in range(1, 7)}
    personalisation |= {'address_line_7': 'LS1 1UR', 'postcode': 'ignored when line 7 is given'}
    assert validate_postal_address(personalisation) == []
    personalisation['address_line_2'] = 'Flat 2\nThe Old Mill'  # a value holding a newline is two lines
    assert validate_postal_address(personalisation) == ['Address must be no more than 7 lines']


def test_address_values_are_stringified() -> None:
    assert validate_postal_address({'address_line_1': 'A', 'address_line_2': 12, 'postcode': 'LS1 1UR'}) == []


# --- request schemas -----------------------------------------------------------------------------------------


def test_valid_sms_request() -> None:
    body = {
        'phone_number': '07700 900123',
        'template_id': TEMPLATE_ID,
        'personalisation': {'name': 'Ada'},
        'reference': 'ref-1',
        'sms_sender_id': TEMPLATE_ID,
    }
    assert validate_request('sms', body) == []


def test_missing_required_properties() -> None:
    assert validate_request('sms', {}) == [
        'phone_number is a required property',
        'template_id is a required property',
    ]
    assert validate_request('letter', {'template_id': TEMPLATE_ID}) == ['personalisation is a required property']
    assert validate_request('precompiled_letter', {'content': 'JVBERi0='}) == ['reference is a required property']


def test_additional_properties_and_uuids() -> None:
    body = {'phone_number': '07700900123', 'template_id': 'not-a-uuid', 'sms_sender_id': 5, 'foo': 1}
    assert validate_request('sms', body) == [
        'template_id is not a valid UUID',
        'sms_sender_id is not a valid UUID',
        'Additional properties are not allowed (foo was unexpected)',
    ]


def test_uuid_check_accepts_what_python_accepts() -> None:
    body = {'phone_number': '07700900123', 'template_id': TEMPLATE_ID.replace('-', '').upper()}
    assert validate_request('sms', body) == []


def test_wrong_types_are_reported_without_quotes() -> None:
    body = {'phone_number': 7700900123, 'template_id': TEMPLATE_ID, 'reference': 5, 'personalisation': 'x'}
    assert validate_request('sms', body) == [
        'reference 5 is not of type string',
        'phone_number 7700900123 is not of type string',
        'personalisation x is not of type object',
    ]
    assert validate_request('sms', ['not', 'an', 'object']) == ['[not, an, object] is not of type object']


def test_reference_max_length() -> None:
    body = {'phone_number': '07700900123', 'template_id': TEMPLATE_ID, 'reference': 'r' * 1000}
    assert validate_request('sms', body) == []
    body['reference'] = 'r' * 1001
    assert validate_request('sms', body) == [f'reference {"r" * 1001} is too long']


def test_phone_format_errors() -> None:
    base = {'template_id': TEMPLATE_ID}
    assert validate_request('sms', base | {'phone_number': '07700 9001234'}) == ['phone_number Too many digits']
    assert validate_request('sms', base | {'phone_number': '0770'}) == ['phone_number Not enough digits']
    assert validate_request('sms', base | {'phone_number': 'abc'}) == [
        'phone_number Must not contain letters or symbols'
    ]
    # the schema allows international numbers and landlines; permissions are checked later
    assert validate_request('sms', base | {'phone_number': '+1 202 555 0123'}) == []
    assert validate_request('sms', base | {'phone_number': '020 7946 0000'}) == []


def test_email_request() -> None:
    body = {
        'email_address': 'resident@example.com',
        'template_id': TEMPLATE_ID,
        'email_reply_to_id': TEMPLATE_ID,
        'one_click_unsubscribe_url': 'https://council.example/unsubscribe/abc',
        'sanitise_content_for': ['name'],
    }
    assert validate_request('email', body) == []
    body |= {'email_address': 'first..last@example.com', 'one_click_unsubscribe_url': 'http://council.example'}
    assert validate_request('email', body) == [
        'email_address Not a valid email address',
        'one_click_unsubscribe_url is not a valid https url',
    ]
    assert validate_request('email', body | {'one_click_unsubscribe_url': 5, 'email_address': 'a@b.com'}) == [
        'one_click_unsubscribe_url is not a valid https url'
    ]


def test_sanitise_content_for_must_be_a_list_of_strings() -> None:
    body = {'email_address': 'a@example.com', 'template_id': TEMPLATE_ID, 'sanitise_content_for': ['a', 5]}
    assert validate_request('email', body) == ['sanitise_content_for 5 is not of type string']


def test_scheduled_for_window() -> None:
    base = {'phone_number': '07700900123', 'template_id': TEMPLATE_ID}
    assert validate_request('sms', base | {'scheduled_for': '2026-05-01T18:00:00'}, now=NOW) == []
    assert validate_request('sms', base | {'scheduled_for': '2026-05-01T13:00:00Z'}, now=NOW) == []
    assert validate_request('sms', base | {'scheduled_for': None}, now=NOW) == []
    assert validate_request('sms', base | {'scheduled_for': '2026-04-30T12:00:00'}, now=NOW) == [
        'scheduled_for datetime can not be in the past'
    ]
    assert validate_request('sms', base | {'scheduled_for': '2026-05-03T12:00:00'}, now=NOW) == [
        'scheduled_for datetime can only be 24 hours in the future'
    ]
    assert validate_request('sms', base | {'scheduled_for': 'tomorrow'}, now=NOW) == [
        'scheduled_for datetime format is invalid. It must be a valid ISO8601 date time format, '
        'https://en.wikipedia.org/wiki/ISO_8601'
    ]


def test_precompiled_letter_postage() -> None:
    body = {'reference': 'ref', 'content': 'JVBERi0='}
    for postage in ('first', 'second', 'economy'):
        assert validate_request('precompiled_letter', body | {'postage': postage}) == []
    assert validate_request('precompiled_letter', body | {'postage': 'europe'}) == [
        'postage invalid. It must be either first, second or economy.'
    ]


def test_letter_request() -> None:
    body = {'template_id': TEMPLATE_ID, 'personalisation': {'address_line_1': 'A'}}
    assert validate_request('letter', body) == []
    assert validate_request('letter', body | {'postage': 'first'}) == [
        'Additional properties are not allowed (postage was unexpected)'
    ]


def test_template_preview_allows_extra_properties() -> None:
    assert validate_request('template_preview', {'id': TEMPLATE_ID, 'personalisation': {}, 'x': 1}) == []
    assert validate_request('template_preview', {'personalisation': {}}) == ['id is a required property']
    assert validate_request('template_preview', {'id': TEMPLATE_ID, 'personalisation': []}) == [
        'personalisation [] is not of type object'
    ]


def test_get_notifications_query() -> None:
    assert validate_request('get_notifications', {}) == []
    args = {'status': ['created', 'failed'], 'template_type': 'sms', 'older_than': TEMPLATE_ID, 'reference': 'r'}
    assert validate_request('get_notifications', args) == []
    assert validate_request('get_notifications', {'include_jobs': ['true']}) == []


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (
            {'status': 'elephant'},
            'status elephant is not one of [cancelled, created, sending, sent, delivered, pending, failed, '
            'technical-failure, temporary-failure, permanent-failure, pending-virus-check, validation-failed, '
            'virus-scan-failed, returned-letter, accepted, received]',
        ),
        ({'template_type': ['orange']}, 'template_type orange is not one of [sms, email, letter]'),
        ({'older_than': '1234-badly-formatted-id-7890'}, 'older_than is not a valid UUID'),
        ({'older_than': ['1234-badly-formatted-id-7890', TEMPLATE_ID]}, 'older_than is not a valid UUID'),
        ({'foo': 'bar'}, 'Additional properties are not allowed (foo was unexpected)'),
    ],
)
def test_get_notifications_query_errors(args: dict[str, object], message: str) -> None:
    assert validate_request('get_notifications', args) == [message]


def test_query_args_to_body() -> None:
    assert schemas.query_args_to_body({'status': 'sent', 'older_than': ['a', 'b'], 'reference': 'r'}) == {
        'status': ['sent'],
        'older_than': 'a',
        'reference': 'r',
    }


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match='unknown request kind'):
        validate_request('fax', {})


def test_duplicate_messages_are_reported_once() -> None:
    body = {'email_address': 'a@example.com', 'template_id': TEMPLATE_ID, 'sanitise_content_for': [1, 1]}
    assert validate_request('email', body) == ['sanitise_content_for 1 is not of type string']


# --- placeholders and rendering ------------------------------------------------------------------------------


def test_placeholders_in_order_of_first_appearance() -> None:
    text = 'Dear ((First name)), ((date)) ((first_name)) ((show_link??Visit us)) ((DATE)) (not one) ((a)b)'
    assert placeholders(text) == ['First name', 'date', 'show_link']
    assert placeholders(None) == []
    assert placeholders('') == []


def test_missing_personalisation_order_and_matching() -> None:
    subject = 'Your ((Case Ref)) update'
    body = 'Hello ((name)), case ((case_ref)) is ((status)). ((extra??More))'
    personalisation = {'CASE-REF': 'A1', 'status': None}
    assert missing_personalisation(subject, body, personalisation) == ['name', 'status', 'extra']
    assert rendering.missing_personalisation_message(['name', 'status']) == 'Missing personalisation: name, status'
    assert missing_personalisation(None, 'Hi ((name))', {'Name': ''}) == []


def test_render_substitutes_case_insensitively() -> None:
    assert render('Hi ((First Name)), bin day is ((day)).', {'first_name': 'Ada', 'DAY': 3}) == (
        'Hi Ada, bin day is 3.'
    )


def test_render_leaves_missing_placeholders_alone() -> None:
    assert render('Hi ((name)) ((x??y))', {}) == 'Hi ((name)) ((x??y))'


@pytest.mark.parametrize(
    ('value', 'shown'),
    [('yes', True), ('Y', True), ('true', True), (True, True), (1, True), ('Show', True), ('include', True)]
    + [('no', False), (False, False), (0, False), ('', False), ('maybe', False)],
)
def test_conditional_placeholders(value: object, shown: bool) -> None:
    text = 'Bins.((late??Collection is late.)) Thanks'
    expected = 'Bins.Collection is late. Thanks' if shown else 'Bins. Thanks'
    assert render(text, {'late': value}) == expected


def test_render_lists() -> None:
    text = 'Items:((items))'
    assert render(text, {'items': ['a', ' b ', None, '', 'c']}) == 'Items:\n\n* a\n* b\n* c'
    assert render(text, {'items': ['a', 'b', 'c']}, markdown_lists=False) == 'Items:a, b and c'
    assert render(text, {'items': ['a', 'b']}, markdown_lists=False) == 'Items:a and b'
    assert render(text, {'items': ['a']}, markdown_lists=False) == 'Items:a'
    assert render(text, {'items': [None, '']}) == 'Items:'


@pytest.mark.parametrize(('body', 'empty'), [('', True), ('  \n\t', True), ('\u200b', True), ('Hi', False)])
def test_is_empty(body: str, empty: bool) -> None:
    assert is_empty(body) is empty


# --- message sizes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'fragments'),
    [
        ('a', 1),
        ('a' * 160, 1),
        ('a' * 161, 2),
        ('a' * 306, 2),
        ('a' * 307, 3),
        ('€' * 80, 1),  # extension characters count twice: 160
        ('€' * 81, 2),
        ('^' + 'a' * 159, 2),
        ('a' * 159 + '\u2019', 1),  # curly quote is swapped for a GSM one
        ('a' * 69 + '😀', 1),  # emoji forces UCS-2
        ('a' * 70 + '😀', 2),
        ('ŵ' * 134, 2),
        ('ŵ' * 135, 3),
        ('  ' + 'a' * 160 + '\n', 1),  # surrounding whitespace is not counted
    ],
)
def test_sms_fragment_count(body: str, fragments: int) -> None:
    assert sms_fragment_count(body) == fragments


def test_sms_length_limit() -> None:
    assert not sms_too_long('a' * 918)
    assert sms_too_long('a' * 919)
    assert not sms_too_long('€' * 918)  # the limit counts characters, not GSM units
    assert too_long_message('sms', 'a' * 919) == (
        'Your message is too long. Text messages cannot be longer than 918 characters. '
        'Your message is 919 characters long.'
    )


def test_email_length_limit() -> None:
    assert not rendering.email_too_long('a' * 2_000_000)
    assert rendering.email_too_long('é' * 1_000_001)
    assert too_long_message('email', 'é' * 1_000_001) == (
        'Your message is too long. Emails cannot be longer than 2000000 bytes. Your message is 2000002 bytes.'
    )


def test_too_long_message_for_other_kinds() -> None:
    with pytest.raises(ValueError):
        too_long_message('letter', 'x')

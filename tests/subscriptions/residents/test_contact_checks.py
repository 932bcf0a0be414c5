"""The checks behind the contact details page, on their own: which domains get a "Did you mean", how a landline
is told apart from a mobile, and the times people type for quiet hours and reminders."""

from __future__ import annotations

from datetime import time

import pytest

from subscriptions.residents.contact_checks import Problem, check_email, check_mobile, parse_time, suggest_email


@pytest.mark.parametrize(
    ('typed', 'suggestion'),
    [
        ('jo@gmial.com', 'jo@gmail.com'),
        ('jo@gmail.con', 'jo@gmail.com'),
        ('Jo.Bloggs@hotmial.co.uk', 'Jo.Bloggs@hotmail.co.uk'),
        ('jo@outlok.com', 'jo@outlook.com'),
        ('jo@yaho.co.uk', 'jo@yahoo.co.uk'),
        ('jo@btinternt.com', 'jo@btinternet.com'),
        ('jo@gmail.com', None),
        ('jo@mail.com', None),  # a real domain one letter from gmail.com
        ('jo@me.com', None),
        ('jo@testshire.gov.uk', None),
        ('jo@example.org', None),
    ],
)
def test_a_slip_in_a_common_domain_gets_a_suggestion_and_real_domains_do_not(
    typed: str, suggestion: str | None
) -> None:
    assert suggest_email(typed) == suggestion


def test_an_email_is_checked_for_shape() -> None:
    assert check_email(' Jo@Example.com ') == 'jo@example.com'
    assert check_email('') == Problem('signup.error.email_missing')
    assert check_email('jo.example.com') == Problem('signup.error.email_at')
    assert check_email('jo@@example') == Problem('signup.error.email_format')


@pytest.mark.parametrize(
    ('typed', 'number'),
    [('01632 960 001', '01632 960 001'), ('+44 20 7946 0000', '020 7946 0000'), ('0161-496-0000', '0161 496 0000')],
)
def test_a_landline_is_named_back_as_a_landline(typed: str, number: str) -> None:
    problem = check_mobile(typed)
    assert isinstance(problem, Problem) and problem.key == 'signup.error.mobile_landline'
    assert problem.values['number'] == number


def test_mobiles_in_any_usual_form_are_one_number() -> None:
    assert {check_mobile(typed) for typed in ('07700 900123', '+447700900123', '(07700) 900-123')} == {'447700900123'}


@pytest.mark.parametrize(
    ('typed', 'moment'),
    [('21:00', time(21)), ('9pm', time(21)), ('9.30 pm', time(21, 30)), ('0730', time(7, 30)), ('12am', time(0)),
     ('12pm', time(12)), ('7', time(7)), ('24:00', None), ('13pm', None), ('soon', None), ('', None)],
)  # fmt: skip
def test_times_are_read_as_people_write_them(typed: str, moment: time | None) -> None:
    assert parse_time(typed) == moment

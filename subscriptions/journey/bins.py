"""Bin day reminders (/bins): postcode → which address → the evening before or the morning of (and when),
then the shared steps (subscriptions/journey/steps.py) without quiet hours: a reminder comes at the time chosen.

The subscription is kind 'address' for the property's UPRN, topic 'bins', with `remind_at` / `remind_time`
(subscriptions/matching/reminders.py sends the reminders). Addresses come from subscriptions/places/addresses.py; a
postcode we know no addresses for gets a kind page that offers updates about things near it instead.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier.app_keys import PG
from notifier.web import rendering, sessions
from subscriptions.journey import steps as journey
from subscriptions.journey.steps import Translate, answers_for, page, register, store, t_for
from subscriptions.places import addresses
from subscriptions.places.postcodes import PostcodeError, PostcodeOutsideGB, gb_postcode
from subscriptions.residents.contact_checks import parse_time

routes = web.RouteTableDef()

WHEN = ('evening-before', 'morning-of')
DEFAULT_TIMES = {'evening-before': '18:00', 'morning-of': '07:00'}


def own_steps(answers: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        ('', 'postcode' in answers),
        ('address', 'uprn' in answers),
        ('when', answers.get('remind_at') in WHEN),
    ]


def when_words(t: Translate, answers: dict[str, Any]) -> str:
    at = answers['remind_at']
    return t(f'bins.when.{at}_at', time=answers.get('remind_time') or DEFAULT_TIMES[at])


def check_rows(t: Translate, answers: dict[str, Any]) -> journey.Rows:
    return [
        {'key': t('bins.check.address'), 'value': answers['address'], 'slug': 'address'},
        {'key': t('bins.check.when'), 'value': when_words(t, answers), 'slug': 'when'},
    ]


def fields(answers: dict[str, Any]) -> dict[str, Any]:
    remind_time = parse_time(answers['remind_time']) if answers.get('remind_time') else None
    return {
        'kind': 'address', 'uprn': answers['uprn'], 'topics': ['bins'], 'remind_at': answers['remind_at'],
        'remind_time': remind_time,
    }  # fmt: skip


BINS = register(journey.Journey('bins', own_steps, check_rows, fields, lambda answers: None, quiet_hours=False))


# --- postcode -------------------------------------------------------------------------------------------------


@routes.get('/bins', name='bins-start')
async def postcode_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, BINS, '')
    return page(request, 'bins/postcode.html', BINS, answers, '', typed=answers.get('postcode', ''))


@routes.post('/bins')
async def postcode_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, BINS, '')
    typed = str((await request.post()).get('postcode', ''))[:40]
    t = t_for(request)
    try:
        postcode = gb_postcode(typed)
    except PostcodeOutsideGB:
        error = t('near.error.postcode_outside')
    except PostcodeError:
        error = t('near.error.postcode_format') if typed.strip() else t('near.error.postcode_missing')
    else:
        found = await addresses.for_postcode(request.app[PG], postcode)
        if not found:
            session = await sessions.get(request)
            session.journey('near').setdefault('postcode_typed', postcode)  # ready if they choose "near me"
            await sessions.save(request, session)
            return rendering.render(request, 'bins/no_addresses.html', {'postcode': postcode, 'back': '/bins'})
        session = await sessions.get(request)
        session.journey('bins').pop('uprn', None)
        return await store(request, BINS, '', postcode=postcode)
    return page(request, 'bins/postcode.html', BINS, answers, '', typed=typed, errors={'postcode': error})


# --- which address --------------------------------------------------------------------------------------------


async def _address_page(request: web.Request, answers: dict[str, Any], errors: dict[str, str]) -> web.Response:
    found = await addresses.for_postcode(request.app[PG], answers['postcode'])
    items = [{'value': address.uprn, 'text': address.text} for address in found]
    return page(request, 'bins/address.html', BINS, answers, 'address', items=items, errors=errors,
                chosen=answers.get('uprn', ''), postcode=answers['postcode'])  # fmt: skip


@routes.get('/bins/address', name='bins-address')
async def address_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, BINS, 'address')
    return await _address_page(request, answers, {})


@routes.post('/bins/address')
async def address_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, BINS, 'address')
    uprn = str((await request.post()).get('uprn', ''))[:12]
    text = await addresses.find(request.app[PG], uprn, answers['postcode']) if uprn.isdigit() else None
    if text is None:
        return await _address_page(request, answers, {'uprn': t_for(request)('bins.error.address')})
    return await store(request, BINS, 'address', uprn=uprn, address=text)


# --- when -----------------------------------------------------------------------------------------------------


def _when_errors(t: Translate, chosen: str, typed: str) -> dict[str, str]:
    if chosen not in WHEN:
        return {'remind_at': t('bins.error.when')}
    if not typed:
        return {}
    moment = parse_time(typed)
    if moment is None:
        return {'remind_time': t('bins.error.time')}
    if chosen == 'evening-before' and moment.hour < 12:
        return {'remind_time': t('bins.error.time_evening')}
    if chosen == 'morning-of' and moment.hour >= 12:
        return {'remind_time': t('bins.error.time_morning')}
    return {}


@routes.get('/bins/when', name='bins-when')
async def when_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, BINS, 'when')
    return page(request, 'bins/when.html', BINS, answers, 'when', chosen=answers.get('remind_at', ''),
                typed=answers.get('remind_time') or '')  # fmt: skip


@routes.post('/bins/when')
async def when_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, BINS, 'when')
    form = await request.post()
    chosen, typed = str(form.get('remind_at', '')), str(form.get('remind_time', '')).strip()[:20]
    errors = _when_errors(t_for(request), chosen, typed)
    if errors:
        return page(request, 'bins/when.html', BINS, answers, 'when', chosen=chosen, typed=typed, errors=errors)
    moment = parse_time(typed) if typed else None
    return await store(
        request, BINS, 'when', remind_at=chosen, remind_time=moment.strftime('%H:%M') if moment else None
    )

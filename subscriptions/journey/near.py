"""Things near me (/near): postcode → how far (with how many updates that means) → what about → how often,
then the shared steps (subscriptions/journey/steps.py).

The postcode must be in our postcodes table (OS Code-Point Open). One outside the council's districts
(TELLME_COUNCIL_DISTRICTS) is not signed up silently: /near/outside says it is outside the council's area and, when
it is close enough for the largest distance to reach the area, lets the resident go on with it (someone just over
the border may care about what happens across the road: subscriptions/places/council_area.py); further away, only
another postcode, since nothing in the area could ever be near it. Each distance offered comes with an estimate
counted in SQL from the last 12 weeks of public events within it ("about 2 a week"), so a resident can choose
a radius that suits them before anything is sent. The topics offered are the council's catalogue
(subscriptions/topics: what it offers residents, by name in English and Welsh), and a filter can leave out tree
works (an exclusion on the planning application type).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.web import sessions
from subscriptions.journey import steps as journey
from subscriptions.journey.steps import Translate, answers_for, language_of, page, register, see_other, store, t_for
from subscriptions.matching.fan_out import EARTH_RADIUS_M
from subscriptions.places import council_area
from subscriptions.places.geocoding import find_postcode
from subscriptions.places.postcodes import PostcodeError, PostcodeOutsideGB, gb_postcode
from subscriptions.residents.choices import FREQUENCIES, PUBLIC, RADII, radius_words, topic_items
from subscriptions.residents.models import bounding_box
from subscriptions.topics import catalogue as topic_catalogue
from subscriptions.topics.catalogue import humanise

routes = web.RouteTableDef()

WEEKS = 12
TREE_TYPES = ('Trees', 'Tree works', 'Works to trees', 'Tree Preservation Order', 'Trees in a Conservation Area')

COUNTS = f"""
with nearby as (
    select 2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
               power(sin(radians(lat - $1) / 2), 2)
               + cos(radians($1)) * cos(radians(lat)) * power(sin(radians(lng - $2) / 2), 2)))) as metres
    from events
    where lat is not null and box(point(lng, lat), point(lng, lat)) <@ box(point($5, $3), point($6, $4))
      and occurred_at > now() - make_interval(weeks => {WEEKS}) and {PUBLIC}
)
select radius, count(metres) filter (where metres <= radius) as events
from unnest($7::int[]) as radius left join nearby on true
group by radius
"""
TREE_VALUES = """
select distinct attributes ->> 'application_type' from events
where created_at > now() - interval '52 weeks' and topic = 'planning'
  and attributes ->> 'application_type' ilike '%tree%'
"""


def volume(t: Translate, events: int) -> str:
    """An estimate in words from the number of events in the last WEEKS weeks."""
    days = WEEKS * 7
    if events == 0:
        return t('near.volume.none')
    if events >= days:
        return t('near.volume.day', n=round(events / days))
    if events >= WEEKS:
        return t('near.volume.week', n=round(events / WEEKS))
    per_month = events / (days / 30.44)
    if per_month >= 1:
        return t('near.volume.month', n=round(per_month))
    return t('near.volume.less')


async def estimates(db: asyncpg.Pool, lat: float, lng: float) -> dict[int, int]:
    west, south, east, north = bounding_box(lat, lng, max(RADII))
    rows = await db.fetch(COUNTS, lat, lng, south, north, west, east, list(RADII))
    return {row['radius']: row['events'] for row in rows}


def topic_words(t: Translate, answers: dict[str, Any], topic: str) -> str:
    """The topic's name as it was when chosen (kept with the answers, in English and Welsh)."""
    english, welsh = (answers.get('topic_names') or {}).get(topic) or (humanise(topic), '')
    return welsh if language_of(t) == 'cy' and welsh else english


def own_steps(answers: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        ('', 'postcode' in answers),
        ('radius', 'radius' in answers),
        ('topics', bool(answers.get('topics'))),
        ('frequency', answers.get('frequency') in FREQUENCIES),
    ]


def check_rows(t: Translate, answers: dict[str, Any]) -> journey.Rows:
    what = ', '.join(topic_words(t, answers, topic) for topic in answers['topics'])
    if answers.get('exclusions'):
        what += ' ' + t('near.check.no_trees')
    return [
        {'key': t('near.check.postcode'), 'value': answers['postcode'], 'slug': ''},
        {'key': t('near.check.radius'), 'value': radius_words(t, answers['radius']), 'slug': 'radius'},
        {'key': t('near.check.topics'), 'value': what, 'slug': 'topics'},
        {'key': t('near.check.frequency'), 'value': t(f'near.frequency.{answers["frequency"]}'), 'slug': 'frequency'},
    ]


def fields(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        'kind': 'near', 'lat': answers['lat'], 'lng': answers['lng'], 'radius_m': answers['radius'],
        'postcode': answers['postcode'],
        'topics': answers['topics'], 'exclusions': answers.get('exclusions') or {}, 'frequency': answers['frequency'],
    }  # fmt: skip


NEAR = register(journey.Journey('near', own_steps, check_rows, fields, lambda answers: answers.get('postcode')))


# --- postcode -------------------------------------------------------------------------------------------------


@routes.get('/near', name='near-start')
async def postcode_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, NEAR, '')
    return page(request, 'near/postcode.html', NEAR, answers, '', typed=answers.get('postcode_typed', ''))


async def check_postcode(request: web.Request, typed: str) -> tuple[str, Any] | str:
    """(postcode, its row) or the error message to show."""
    t = t_for(request)
    try:
        postcode = gb_postcode(typed)
    except PostcodeOutsideGB:
        return t('near.error.postcode_outside')
    except PostcodeError:
        return t('near.error.postcode_format') if typed.strip() else t('near.error.postcode_missing')
    row = await find_postcode(request.app[PG], postcode)
    if row is None:
        return t('near.error.postcode_unknown', postcode=postcode)
    return postcode, row


@routes.post('/near')
async def postcode_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, NEAR, '')
    typed = str((await request.post()).get('postcode', ''))[:40]
    found = await check_postcode(request, typed)
    if isinstance(found, str):
        return page(request, 'near/postcode.html', NEAR, answers, '', typed=typed, errors={'postcode': found})
    postcode, row = found
    if council_area.outside(request.app[SETTINGS].council_district_codes, row['district_code']):
        return await _outside(request, postcode, row)
    return await store(request, NEAR, '', postcode=postcode, postcode_typed=postcode, lat=row['lat'], lng=row['lng'],
                       outside=None)  # fmt: skip


# --- a postcode outside the council's area --------------------------------------------------------------------


def _change(request: web.Request) -> str:
    return '?change=1' if request.query.get('change') else ''


async def _outside(request: web.Request, postcode: str, row: Any) -> web.Response:
    """Keep the postcode aside (not yet the answer) and say where it is."""
    session = await sessions.get(request)
    session.journey(NEAR.name).update(
        postcode_typed=postcode, outside={'postcode': postcode, 'lat': row['lat'], 'lng': row['lng']}
    )
    await sessions.save(request, session)
    return see_other('/near/outside' + _change(request))


async def _outside_answer(request: web.Request) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The answers, the postcode kept aside, and whether it is close enough to the area to go on with (a circle of
    the largest distance around it reaches one of the area's postcodes); with none kept aside, back to /near."""
    answers = await answers_for(request, NEAR, '')
    aside = answers.get('outside')
    if not aside:
        raise web.HTTPSeeOther('/near' + _change(request))
    districts = request.app[SETTINGS].council_district_codes
    close = await council_area.close_to_area(request.app[PG], districts, aside['lat'], aside['lng'], max(RADII))
    return answers, aside, close


@routes.get('/near/outside', name='near-outside')
async def outside_page(request: web.Request) -> web.Response:
    answers, aside, close = await _outside_answer(request)
    return page(request, 'near/outside.html', NEAR, answers, '', postcode=aside['postcode'], close=close,
                back='/near' + _change(request), again='/near' + _change(request))  # fmt: skip


@routes.post('/near/outside')
async def outside_post(request: web.Request) -> web.StreamResponse:
    _, aside, close = await _outside_answer(request)
    if not close:  # nothing in the area could reach it: the page offered no way on
        return see_other('/near' + _change(request))
    return await store(request, NEAR, '', postcode=aside['postcode'], postcode_typed=aside['postcode'],
                       lat=aside['lat'], lng=aside['lng'], outside=None)  # fmt: skip


# --- how far --------------------------------------------------------------------------------------------------


async def _radius_page(request: web.Request, answers: dict[str, Any], chosen: str, errors: dict[str, str]):
    t = t_for(request)
    counts = await estimates(request.app[PG], answers['lat'], answers['lng'])
    items = [{'value': str(r), 'text': radius_words(t, r), 'hint': volume(t, counts.get(r, 0))} for r in RADII]
    return page(request, 'near/radius.html', NEAR, answers, 'radius', items=items, chosen=chosen, errors=errors,
                postcode=answers['postcode'])  # fmt: skip


@routes.get('/near/radius', name='near-radius')
async def radius_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, NEAR, 'radius')
    return await _radius_page(request, answers, str(answers.get('radius', '')), {})


@routes.post('/near/radius')
async def radius_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, NEAR, 'radius')
    chosen = str((await request.post()).get('radius', ''))
    if chosen not in {str(r) for r in RADII}:
        return await _radius_page(request, answers, '', {'radius': t_for(request)('near.error.radius')})
    return await store(request, NEAR, 'radius', radius=int(chosen))


# --- what about -----------------------------------------------------------------------------------------------


async def _topics_page(request: web.Request, answers: dict[str, Any], chosen: list[str], trees: bool,
                       errors: dict[str, str]) -> web.Response:  # fmt: skip
    t = t_for(request)
    items = await topic_items(request.app[PG], language_of(t))
    return page(request, 'near/topics.html', NEAR, answers, 'topics', items=items, chosen=chosen,
                trees=trees, errors=errors)  # fmt: skip


@routes.get('/near/topics', name='near-topics')
async def topics_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, NEAR, 'topics')
    return await _topics_page(request, answers, answers.get('topics', []), bool(answers.get('exclusions')), {})


@routes.post('/near/topics')
async def topics_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, NEAR, 'topics')
    form = await request.post()
    offered = {topic.key: topic for topic in (await topic_catalogue.load(request.app[PG])).offered()}
    ticked = {str(topic) for topic in form.getall('topics', [])}
    chosen = [key for key in offered if key in ticked]  # in the catalogue's order
    trees = form.get('leave_out') == 'trees'
    if not chosen:
        errors = {'topics': t_for(request)('near.error.topics')}
        return await _topics_page(request, answers, chosen, trees, errors)
    exclusions = {}
    if trees:
        found = [row[0] for row in await request.app[PG].fetch(TREE_VALUES) if row[0]]
        exclusions = {'application_type': sorted({*TREE_TYPES, *found})[:50]}
    names = {key: [offered[key].name_en, offered[key].name_cy] for key in chosen}
    return await store(request, NEAR, 'topics', topics=chosen, topic_names=names, exclusions=exclusions)


# --- how often ------------------------------------------------------------------------------------------------


@routes.get('/near/frequency', name='near-frequency')
async def frequency_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, NEAR, 'frequency')
    return page(request, 'near/frequency.html', NEAR, answers, 'frequency', chosen=answers.get('frequency', ''))


@routes.post('/near/frequency')
async def frequency_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, NEAR, 'frequency')
    chosen = str((await request.post()).get('frequency', ''))
    if chosen not in FREQUENCIES:
        errors = {'frequency': t_for(request)('near.error.frequency')}
        return page(request, 'near/frequency.html', NEAR, answers, 'frequency', chosen='', errors=errors)
    return await store(request, NEAR, 'frequency', frequency=chosen)

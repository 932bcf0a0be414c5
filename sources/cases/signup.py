"""Assisted sign-up (/staff/cases/subscribe): an officer subscribes a caller to a case on their behalf, by email,
text message or post, and records their consent: who agreed, how, when, and the words they were told (the officer
starts from our wording and may change it).

Email and text: the usual pending subscription and confirmation link, so nothing is sent about the case until the
resident confirms it themselves (and ignoring it cancels it). Post: a resident with neither cannot click a link, so
the subscription starts at once and they get a letter saying what they agreed to and the address to stop it.
Consent and the audit entry are written in the same transaction as the subscription; contact details are masked in
the audit log and never logged.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from notifier import audit
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox import links
from notifier.outbox.rows import queue_message
from notifier.settings import Settings
from notifier.staff import auth as staff_auth
from notifier.staff.pages import render
from sources.cases.pages import case_url, chosen_case
from sources.cases.reporters import EXISTING_SUBSCRIPTION, LOCK_CASE
from subscriptions.residents import queries, signup
from subscriptions.residents.models import Channel, InvalidContactPoint, NewSubscription, canonical_address
from templates.personalisation import EventInput, format_date, mask_address
from templates.registry import event_message

routes = web.RouteTableDef()

CHANNELS: dict[str, str] = {'email': 'Email', 'sms': 'Text message', 'letter': 'Letter'}
METHODS = {'phone': 'On the phone', 'in-person': 'In person', 'in-writing': 'In writing'}
FIELD = {'email': 'email', 'sms': 'mobile', 'letter': 'address'}
INSERT_CONSENT = """
insert into consents (
    resident_id, subscription_id, case_source, case_reference, given_at, via, wording, channels, addresses,
    recorded_by, staff_id, agreed_by, method, api_token_id
)
values ($1, $2, $3, $4, now(), 'Tell Me staff', $5, $6, $7, $8, $9, $10, $11, $12)
"""
LETTER = {
    'en': ('Updates about your case {reference}',
           'On {date} you agreed that we send you letters about your case {reference} until it is closed. This is '
           'what you were told: “{wording}”\n\nIf you did not agree to this, or you want to stop, go to the address '
           'at the end of this letter or contact the council, and we will stop.'),
    'cy': ('Diweddariadau am eich achos {reference}',
           'Ar {date} fe wnaethoch chi gytuno i ni anfon llythyrau atoch chi am eich achos {reference} nes iddo gael '
           'ei gau. Dyma beth a ddywedwyd wrthych chi: “{wording}”\n\nOs na wnaethoch chi gytuno i hyn, neu os ydych '
           'chi am i ni stopio, ewch i’r cyfeiriad ar ddiwedd y llythyr hwn neu cysylltwch â’r cyngor, a byddwn '
           'ni’n stopio.'),
}  # fmt: skip


@dataclass(frozen=True)
class Recorder:
    """Who recorded the consent: a member of staff on the page, or a token through the API."""

    actor: audit.Actor
    staff_id: int | None = None
    token_id: int | None = None


class Refused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def default_wording(reference: str) -> str:
    return (
        f'We will send you updates about your case {reference} by the way you chose, until the case is closed. '
        'We keep your contact details only for this. You can stop at any time: every message says how, or call us.'
    )


def _letter(settings: Settings, case: tuple[str, str], event_id: int, subscription_id: int, language: str,
            wording: str) -> Any:  # fmt: skip
    source, reference = case
    title, text = LETTER[language]
    now = datetime.now(UTC)
    secret = settings.link_secrets[0]
    data = EventInput(
        kind='case.signup', topic='cases', title=title.format(reference=reference),
        summary=text.format(reference=reference, date=format_date(now.date(), language), wording=wording),
        changes=[], attributes={}, url=None, occurred_at=now, case_reference=reference,
    )  # fmt: skip
    return event_message(
        data, channel='letter', language=language,
        event_url=links.event_url(settings.public_url, event_id, private=True, secret=secret),
        unsubscribe_url=links.unsubscribe_url(settings.public_url, secret, subscription_id),
        manage_url=links.manage_url(settings.public_url),
    )  # fmt: skip


async def sign_up(
    conn: asyncpg.Connection,
    settings: Settings,
    case: dict[str, Any],
    channel: Channel,
    address: str,
    *,
    consent: dict[str, str],
    recorder: Recorder,
) -> tuple[int, uuid.UUID]:
    """Subscribe, record consent, queue the confirmation (or the letter) and audit it: (subscription, message)."""
    source, reference = case['source'], case['reference']
    await conn.execute(LOCK_CASE, source, reference)
    # the sign-up code canonicalises again: a letter's address goes to it as its list of lines
    addresses: dict[Channel, Any] = {channel: json.loads(address) if channel == 'letter' else address}
    try:
        async with conn.transaction():
            # a letter's address is the council's own record of where the person lives: it vouches for itself
            placed = await signup.place(conn, consent['language'], addresses, vouched=frozenset({'letter'}) & {channel})
    except signup.SignupRefused as exc:
        raise Refused(FIELD[channel], f'{exc.message[:1].upper()}{exc.message[1:]}') from None
    resident_id, language, points = placed.resident_id, placed.language, placed.points
    existing = await conn.fetchrow(EXISTING_SUBSCRIPTION, resident_id, source, reference)
    if existing is not None and existing['status'] != 'ended':
        raise Refused(FIELD[channel], f'They are already subscribed to this case ({existing["status"]})')
    spec = NewSubscription(kind='case', channels=[channel], case_source=source, case_reference=reference)
    subscription_id = await queries.create_subscription(conn, resident_id, spec, active=channel == 'letter')
    await conn.execute(
        INSERT_CONSENT, resident_id, subscription_id, source, reference, consent['wording'], [channel],
        {channel: address}, recorder.actor.name[:100], recorder.staff_id, consent['agreed_by'], consent['method'],
        recorder.token_id,
    )  # fmt: skip
    if channel == 'letter':
        event_id = await conn.fetchval(
            'select max(id) from events where source = $1 and case_reference = $2', source, reference
        )
        message = _letter(settings, (source, reference), event_id, subscription_id, language, consent['wording'])
        notification_id = await queue_message(
            conn, message, contact_point_id=points['letter'].id, channel='letter', purpose='notice',
            subscription_id=subscription_id,
        )  # fmt: skip
    else:
        notification_id, _ = await signup.queue_confirmation(
            conn, settings, subscription_id, spec, language=language, points=points, place=None
        )
    details = {'source': source, 'channel': channel, 'contact': mask_address(channel, address),
               'subscription': subscription_id, 'method': consent['method']}  # fmt: skip
    await audit.record(conn, recorder.actor, 'case.assisted_signup', target_kind='case', target_id=reference,
                       details=details)  # fmt: skip
    return subscription_id, notification_id


def _address(channel: str, form: dict[str, str], errors: OrderedDict[str, str]) -> str:
    raw = form.get(FIELD.get(channel, ''), '').strip()
    if not raw:
        errors[FIELD[channel]] = {
            'email': 'Enter their email address', 'sms': 'Enter their mobile number',
            'letter': 'Enter their postal address, one line per line, with the postcode last',
        }[channel]  # fmt: skip
        return ''
    value: str | list[str] = raw.splitlines() if channel == 'letter' else raw
    try:
        return canonical_address(channel, value)  # type: ignore[arg-type]
    except InvalidContactPoint as exc:
        errors[FIELD[channel]] = str(exc)
        return ''


def _checked(form: dict[str, str]) -> tuple[str, str, dict[str, str], OrderedDict[str, str]]:
    errors: OrderedDict[str, str] = OrderedDict()
    channel = form.get('channel', '')
    address = ''
    if channel not in CHANNELS:
        errors['channel'] = 'Choose how they want to hear about the case'
    else:
        address = _address(channel, form, errors)
    consent = {key: ' '.join(form.get(key, '').split()) for key in ('agreed_by', 'method', 'wording', 'language')}
    consent['wording'] = form.get('wording', '').strip()
    if consent['language'] not in ('en', 'cy'):
        errors['language'] = 'Choose the language they want messages in'
    if not consent['agreed_by'] or len(consent['agreed_by']) > 200:
        errors['agreed_by'] = 'Enter who agreed, in 200 characters or fewer, like “The resident”'
    if consent['method'] not in METHODS:
        errors['method'] = 'Choose how they agreed'
    if not consent['wording'] or len(consent['wording']) > 2000:
        errors['wording'] = 'Enter what you told them they were agreeing to, in 2,000 characters or fewer'
    if form.get('agreed') != 'yes':
        errors['agreed'] = 'Confirm that they agreed to this'
    return channel, address, consent, errors


def _context(case: dict[str, Any], form: dict[str, str], **kw: Any) -> dict[str, Any]:
    return {'case': case, 'form': form, 'channels': CHANNELS, 'methods': METHODS,
            'case_url': case_url(case['source'], case['reference']), **kw}  # fmt: skip


@routes.get('/staff/cases/subscribe', name='staff-case-subscribe')
@staff_auth.staff_page('case_officer')
async def subscribe_page(request: web.Request) -> web.Response:
    case = await chosen_case(request)
    form = {'agreed_by': 'The resident', 'language': 'en', 'wording': default_wording(case['reference'])}
    return render(request, 'staff/cases/subscribe.html', _context(case, form))


@routes.post('/staff/cases/subscribe')
@staff_auth.staff_page('case_officer')
async def subscribe(request: web.Request) -> web.StreamResponse:
    case = await chosen_case(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    settings = request.app[SETTINGS]
    form = {key: str(value) for key, value in (await request.post()).items()}
    channel, address, consent, errors = _checked(form)
    if not errors and not settings.link_secrets:
        errors['channel'] = 'Sign-up is not possible until TELLME_SECRET_KEY is set'
    if not errors:
        try:
            async with request.app[PG].acquire() as conn, conn.transaction():
                recorder = Recorder(staff_auth.actor(staff), staff_id=staff.id)
                _, notification_id = await sign_up(
                    conn,
                    settings,
                    case,
                    channel,
                    address,
                    consent=consent,
                    recorder=recorder,  # type: ignore[arg-type]
                )
        except Refused as exc:
            errors[exc.field] = exc.message
    if errors:
        return render(request, 'staff/cases/subscribe.html', _context(case, form, errors=errors))
    await signup.send_confirmation(request.app[QUEUE], notification_id)
    raise web.HTTPSeeOther(case_url(case['source'], case['reference'], done='subscribed'))

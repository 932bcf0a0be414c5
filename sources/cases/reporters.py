"""The reporter a case system passes with a case update: subscribed to their case with consent, and how far the
case system is trusted about their addresses.

A reporter who gave consent is subscribed in the update's transaction, with a record of the consent (the channels
and canonical addresses they agreed to be contacted at, the words they were shown, when, and the token that
recorded it). The subscription is pending, with a confirmation message, unless the case system says it verified
their addresses AND its token was made with `--may-verify`: any other token's `verified` is ignored, with a
warning in the answer, so a leaked or over-broad token can sign nobody up without their confirming. Nobody is
subscribed without consent, nobody twice, and nobody who unsubscribed from the case. Addresses are never logged.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from notifier.api.auth import Caller, json_error
from notifier.settings import Settings
from subscriptions.residents import queries, signup
from subscriptions.residents.models import Channel, InvalidContactPoint, NewSubscription, canonical_address

EXISTING_SUBSCRIPTION = """
select id, status from subscriptions
where resident_id = $1 and kind = 'case' and case_source = $2 and case_reference = $3
order by (status = 'ended'), id desc
limit 1
"""
INSERT_CONSENT = """
insert into consents (
    resident_id, subscription_id, case_source, case_reference, given_at, api_token_id, via, wording,
    channels, addresses, recorded_by
)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7)
"""
LOCK_CASE = "select pg_advisory_xact_lock(hashtextextended('case-reporter:' || $1 || ':' || $2, 0))"

VERIFIED_IGNORED = (
    'reporter.verified was ignored: this token may not vouch for addresses (a system token made with '
    '--may-verify may), so the reporter was sent a confirmation message and hears about the case once they confirm'
)


class Consent(BaseModel):
    """What the reporter agreed to in the case system: the words they were shown and when."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    given: bool
    wording: str = Field(min_length=1, max_length=2000)
    at: AwareDatetime


class Reporter(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    email: str | None = Field(None, min_length=3, max_length=320)
    mobile: str | None = Field(None, min_length=5, max_length=30)
    language: Literal['en', 'cy'] = 'en'
    # the addresses the case system has itself verified (true: all of them); honoured for --may-verify tokens only
    verified: bool | list[Literal['email', 'mobile']] = False
    consent: Consent | None = None

    def addresses(self) -> dict[Channel, str]:
        given: dict[Channel, str | None] = {'email': self.email, 'sms': self.mobile}
        return {channel: address for channel, address in given.items() if address}

    def verified_channels(self) -> frozenset[Channel]:
        if self.verified is True:
            return frozenset(self.addresses())
        named = set(self.verified or [])
        return frozenset(channel for channel in self.addresses() if signup.field_of(channel) in named)

    @property
    def consenting(self) -> bool:
        return self.consent is not None and self.consent.given


def trusted_channels(caller: Caller, reporter: Reporter) -> tuple[frozenset[Channel], list[str]]:
    """The channels whose addresses we take as verified on the case system's word, and any warning to answer."""
    claimed = reporter.verified_channels()
    if not claimed or caller.may_verify:
        return claimed, []
    return frozenset(), [VERIFIED_IGNORED]


def canonical_addresses(reporter: Reporter) -> dict[Channel, str]:
    """The reporter's addresses in canonical form, or a 400 naming each one that is wrong."""
    given = reporter.addresses()
    if not given:
        raise json_error(400, 'invalid request', {'reporter.email': 'give an email address or a mobile number'})
    addresses: dict[Channel, str] = {}
    errors: dict[str, str] = {}
    for channel, address in given.items():
        try:
            addresses[channel] = canonical_address(channel, address)
        except InvalidContactPoint as exc:
            errors[f'reporter.{signup.field_of(channel)}'] = str(exc)
    if errors:
        raise json_error(400, 'invalid request', errors)
    return addresses


async def subscribe_reporter(
    conn: asyncpg.Connection,
    settings: Settings,
    caller: Caller,
    case: tuple[str, str],
    reporter: Reporter,
    addresses: dict[Channel, str],
) -> tuple[dict[str, Any], uuid.UUID | None]:
    """Subscribe a consenting reporter to the case (source, reference); (what happened, a confirmation to send
    after commit)."""
    source, reference = case
    consent = reporter.consent
    assert consent is not None and consent.given
    await conn.execute(LOCK_CASE, source, reference)  # the same reporter pushed twice at once: one wins
    verified, warnings = trusted_channels(caller, reporter)
    try:
        async with conn.transaction():  # a savepoint: a refused sign-up leaves nothing behind, the update stays
            placed = await signup.place(conn, reporter.language, addresses, vouched=frozenset(verified))
    except signup.SignupRefused as exc:
        return {'subscribed': False, 'reason': exc.message}, None
    resident_id, language, points = placed.resident_id, placed.language, placed.points
    existing = await conn.fetchrow(EXISTING_SUBSCRIPTION, resident_id, source, reference)
    if existing is not None:
        reason = (
            'they unsubscribed from this case, so they are not subscribed again'
            if existing['status'] == 'ended'
            else 'already subscribed to this case'
        )
        return {'subscribed': False, 'id': existing['id'], 'status': existing['status'],
                'reason': reason}, None  # fmt: skip
    spec = NewSubscription(kind='case', channels=list(addresses), case_source=source, case_reference=reference)
    active = set(addresses) <= verified
    subscription_id = await queries.create_subscription(conn, resident_id, spec, active=active)
    await conn.execute(
        INSERT_CONSENT, resident_id, subscription_id, source, reference, consent.at, caller.token_id, caller.name,
        consent.wording, list(addresses), dict(addresses),
    )  # fmt: skip
    outcome: dict[str, Any] = {'subscribed': True, 'id': subscription_id, 'status': 'active' if active else 'pending'}
    if active:
        return outcome, None
    notification_id, channel = await signup.queue_confirmation(
        conn, settings, subscription_id, spec, language=language, points=points, place=None
    )
    outcome['confirmation'] = {'notification_id': str(notification_id), 'channel': channel}
    if warnings:
        outcome['warnings'] = warnings
    return outcome, notification_id

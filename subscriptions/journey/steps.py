"""The steps every sign-up journey shares: how to get updates, contact details, quiet hours for texts.

A journey ('near', 'bins', 'case') is its own first steps (subscriptions/journey/near.py, …) followed by these.
Answers live in the server-side session (`session.journey(name)`), so nothing typed is lost between pages, and
nothing personal goes in a URL. Every step is a form that POSTs to itself and redirects (POST-redirect-GET):
to the next step, or back to "Check your answers" when it was reached from a Change link (`?change=1`), unless
the change opened a step not yet answered (choosing texts asks for a mobile number). A step whose earlier
steps are unanswered (an expired session, a bookmarked page) sends the person to the first of those.

Check your answers and sending the confirmation are in subscriptions/journey/submit.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from notifier.web import rendering, sessions
from subscriptions.residents import choices
from subscriptions.residents.contact_checks import Problem, check_email, check_mobile, spaced_uk_number, suggest_email
from subscriptions.residents.models import NewSubscription

routes = web.RouteTableDef()

NAMES = 'near|bins|case'
CHANNELS = {'email': ['email'], 'sms': ['sms'], 'both': ['email', 'sms']}
Rows = list[dict[str, str]]
Translate = Callable[..., str]


@dataclass(frozen=True)
class Journey:
    """What makes one journey different: its own steps, its rows on the check page, its subscription."""

    name: str
    # answers → [(step slug, answered?)] for the journey's own steps, first one '' (the journey's start page)
    own_steps: Callable[[dict[str, Any]], list[tuple[str, bool]]]
    # (t, answers) → summary-list rows {key, value, slug}
    check_rows: Callable[[Translate, dict[str, Any]], Rows]
    # answers → the subscription's own fields (kind, place, …) for NewSubscription
    fields: Callable[[dict[str, Any]], dict[str, Any]]
    # answers → the place named in the confirmation message ('SW1A 1AA'), if any
    place: Callable[[dict[str, Any]], str | None]
    quiet_hours: bool = True  # bin reminders come at the time chosen, so they do not ask


JOURNEYS: dict[str, Journey] = {}


def register(journey: Journey) -> Journey:
    JOURNEYS[journey.name] = journey
    return journey


def see_other(location: str) -> web.Response:
    """A 303 returned, not raised, so the page middleware can still set a new session cookie on it."""
    return web.Response(status=303, headers={'Location': location})


def url(name: str, slug: str) -> str:
    return f'/{name}/{slug}' if slug else f'/{name}'


def contact_done(answers: dict[str, Any]) -> bool:
    channels = answers.get('channels') or []
    return bool(channels) and all(answers.get('email' if c == 'email' else 'mobile') for c in channels)


def steps(journey: Journey, answers: dict[str, Any]) -> list[tuple[str, bool]]:
    shared = [('channel', bool(answers.get('channels'))), ('contact', contact_done(answers))]
    if journey.quiet_hours and 'sms' in (answers.get('channels') or []):
        shared.append(('quiet-hours', answers.get('quiet') in choices.QUIET_CHOICES))
    return [*journey.own_steps(answers), *shared]


def first_unanswered(journey: Journey, answers: dict[str, Any]) -> str | None:
    return next((slug for slug, done in steps(journey, answers) if not done), None)


def journey_of(request: web.Request) -> Journey:
    name = request.match_info.get('journey') or request.path.strip('/').split('/')[0]
    if name not in JOURNEYS:
        raise web.HTTPNotFound()
    return JOURNEYS[name]


async def answers_for(request: web.Request, journey: Journey, slug: str) -> dict[str, Any]:
    """This journey's answers, or a redirect (raised) to the first earlier step still unanswered."""
    answers = (await sessions.get(request)).journey(journey.name)
    for step, done in steps(journey, answers):
        if step == slug:
            break
        if not done:
            raise web.HTTPSeeOther(url(journey.name, step))
    return answers


async def store(request: web.Request, journey: Journey, slug: str, **values: Any) -> web.Response:
    """Keep the answers given on one step and go on: to the next step, or back to the check page."""
    session = await sessions.get(request)
    answers = session.journey(journey.name)
    answers.update(values)
    await sessions.save(request, session)
    following = [step for step, _ in steps(journey, answers)]
    if request.query.get('change'):
        missing = first_unanswered(journey, answers)
        return see_other(url(journey.name, missing) + '?change=1' if missing else url(journey.name, 'check'))
    at = following.index(slug) if slug in following else len(following) - 1
    nxt = following[at + 1] if at + 1 < len(following) else 'check'
    return see_other(url(journey.name, nxt))


def back(request: web.Request, journey: Journey, answers: dict[str, Any], slug: str) -> str:
    if request.query.get('change'):
        return url(journey.name, 'check')
    following = [step for step, _ in steps(journey, answers)]
    at = following.index(slug) if slug in following else len(following)
    return url(journey.name, following[at - 1]) if at > 0 else '/'


@dataclass(frozen=True)
class Translator:
    """`t(key, **values)`: a page string in the request's language, which it also tells (`t.lang`)."""

    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        return rendering.translate(self.lang, key, **values)


def t_for(request: web.Request) -> Translate:
    return Translator(rendering.language(request))


def language_of(t: Translate) -> str:
    return getattr(t, 'lang', 'en')


def message(t: Translate, problem: Problem) -> str:
    return t(problem.key, **problem.values)


def page(
    request: web.Request, template: str, journey: Journey, answers: dict[str, Any], slug: str, **context: Any
) -> web.Response:
    context.setdefault('errors', {})
    return rendering.render(
        request, template, {'back': back(request, journey, answers, slug), 'journey': journey.name, **context}
    )


# --- how: email, text or both ---------------------------------------------------------------------------------


@routes.get(f'/{{journey:{NAMES}}}/channel', name='signup-channel')
async def channel_page(request: web.Request) -> web.Response:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'channel')
    chosen = next((key for key, value in CHANNELS.items() if value == answers.get('channels')), '')
    return page(request, 'signup/channel.html', journey, answers, 'channel', chosen=chosen)


@routes.post(f'/{{journey:{NAMES}}}/channel')
async def channel_post(request: web.Request) -> web.StreamResponse:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'channel')
    chosen = str((await request.post()).get('channel', ''))
    if chosen not in CHANNELS:
        errors = {'channel': t_for(request)('signup.error.channel')}
        return page(request, 'signup/channel.html', journey, answers, 'channel', chosen='', errors=errors)
    return await store(request, journey, 'channel', channels=CHANNELS[chosen])


# --- contact details ------------------------------------------------------------------------------------------


@routes.get(f'/{{journey:{NAMES}}}/contact', name='signup-contact')
async def contact_page(request: web.Request) -> web.Response:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'contact')
    typed = {'email': answers.get('email_typed', ''), 'mobile': answers.get('mobile_typed', '')}
    return page(request, 'signup/contact.html', journey, answers, 'contact', typed=typed, channels=answers['channels'])


def _checked_email(t: Translate, form: Any, typed: str, errors: dict[str, str]) -> tuple[str, str] | None:
    """(canonical, as shown) for the email typed, or None with the problem in `errors`; a likely typo in the
    domain is asked about once (`email-choice`), and the person's answer is taken as it is."""
    if form.get('email_checked') == typed and form.get('email-choice') == 'suggested':
        typed = suggest_email(typed) or typed
    found = check_email(typed)
    if isinstance(found, Problem):
        errors['email'] = message(t, found)
        return None
    suggestion = suggest_email(typed)
    if suggestion and not (form.get('email_checked') == typed and form.get('email-choice') == 'typed'):
        errors['email-choice'] = t('signup.error.email_suggest', suggestion=suggestion)
        return None
    return found, typed.strip()


@routes.post(f'/{{journey:{NAMES}}}/contact')
async def contact_post(request: web.Request) -> web.StreamResponse:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'contact')
    form = await request.post()
    t, errors, values = t_for(request), {}, {}
    typed = {'email': str(form.get('email', '')).strip(), 'mobile': str(form.get('mobile', '')).strip()}
    if 'email' in answers['channels']:
        email = _checked_email(t, form, typed['email'], errors)
        if email:
            values['email'], values['email_typed'] = email
            typed['email'] = email[1]
    if 'sms' in answers['channels']:
        mobile = check_mobile(typed['mobile'])
        if isinstance(mobile, Problem):
            errors['mobile'] = message(t, mobile)
        else:
            values['mobile'], values['mobile_typed'] = mobile, spaced_uk_number(mobile)
    if errors:
        suggestion = suggest_email(typed['email']) if 'email-choice' in errors else None
        return page(
            request, 'signup/contact.html', journey, answers, 'contact',
            typed=typed, channels=answers['channels'], errors=errors, suggestion=suggestion,
        )  # fmt: skip
    return await store(request, journey, 'contact', **values)


# --- quiet hours for texts ------------------------------------------------------------------------------------


@routes.get(f'/{{journey:{NAMES}}}/quiet-hours', name='signup-quiet-hours')
async def quiet_page(request: web.Request) -> web.Response:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'quiet-hours')
    typed = {'quiet_start': answers.get('quiet_start', ''), 'quiet_end': answers.get('quiet_end', '')}
    return page(request, 'signup/quiet_hours.html', journey, answers, 'quiet-hours', chosen=answers.get('quiet', ''),
                typed=typed)  # fmt: skip


@routes.post(f'/{{journey:{NAMES}}}/quiet-hours')
async def quiet_post(request: web.Request) -> web.StreamResponse:
    journey = journey_of(request)
    answers = await answers_for(request, journey, 'quiet-hours')
    form = await request.post()
    chosen = str(form.get('quiet', ''))
    typed = {name: str(form.get(name, '')).strip()[:20] for name in choices.QUIET_FIELDS}
    t = t_for(request)
    errors = {name: message(t, problem) for name, problem in choices.quiet_problems(chosen, typed).items()}
    if errors:
        return page(request, 'signup/quiet_hours.html', journey, answers, 'quiet-hours', chosen=chosen, typed=typed,
                    errors=errors)  # fmt: skip
    hours = choices.quiet_hours(chosen, typed)
    times = {}
    if chosen == 'choose' and hours is not None:
        times = {name: f'{value:%H:%M}' for name, value in zip(choices.QUIET_FIELDS, hours, strict=True)}
    return await store(request, journey, 'quiet-hours', quiet=chosen, **times)


# --- what the answers make ------------------------------------------------------------------------------------


def quiet_hours(answers: dict[str, Any]) -> tuple[Any, Any] | None:
    return choices.quiet_hours(answers.get('quiet', 'default'), answers)


def subscription(journey: Journey, answers: dict[str, Any]) -> NewSubscription:
    return NewSubscription(channels=answers['channels'], quiet_hours=quiet_hours(answers), **journey.fields(answers))

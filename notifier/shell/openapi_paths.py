"""What the router cannot say about each JSON endpoint, by route name: a summary, the body it reads (the same
pydantic model the handler validates with, where there is one), what a success answers and which errors it may give.

The paths, methods, path parameters' names and the roles come from the router and `@requires`
(notifier/shell/openapi.py), so they cannot drift; tests/notifier/shell/test_openapi.py fails when a /api route has no
entry here, or an entry no route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from sources.bulletins.api import SendBack
from sources.bulletins.drafts import ALL, AREAS, CHANNELS, MESSAGE_MAX, TITLE_MAX, URGENCIES
from sources.cases.tools_api import AssistedSignup, PreviewRequest, TemplateBody
from sources.cases.updates import CaseUpdate
from sources.events.models import Event
from sources.feeds.adapters.open311 import STAGES
from subscriptions.residents.api import ConfirmRequest, Contact
from subscriptions.residents.models import TOPIC_PATTERN, NewSubscription
from subscriptions.topics.api import NewTopic, TopicChange
from subscriptions.topics.catalogue import GROUPS, KEY_MAX

Schema = dict[str, Any]


def obj(*required: str, **properties: Schema) -> Schema:
    """A JSON object with these properties (more may come: answers grow without breaking callers)."""
    schema: Schema = {'type': 'object', 'properties': properties}
    if required:
        schema['required'] = list(required)
    return schema


def nullable(schema: Schema) -> Schema:
    return {'anyOf': [schema, {'type': 'null'}]}


STRING, INTEGER, BOOLEAN = {'type': 'string'}, {'type': 'integer'}, {'type': 'boolean'}
MOMENT = nullable({'type': 'string', 'format': 'date-time'})
ANY_OBJECT: Schema = {'type': 'object'}
ARRAY_OF_OBJECTS: Schema = {'type': 'array', 'items': ANY_OBJECT}

REFERENCE: Schema = {'type': 'string', 'minLength': 1, 'maxLength': 100, 'pattern': r'^(?!\.\.?$)[^/]+$'}
SOURCE_QUERY: Schema = {'type': 'string', 'minLength': 1, 'maxLength': 100, 'pattern': r'^[a-z0-9][a-z0-9_.-]*$'}
BULLETIN_ID: Schema = {'type': 'integer', 'minimum': 1, 'maximum': 999_999_999_999}

INGESTED = obj('event_id', 'version', 'outcome', 'matched', event_id=nullable(INTEGER), version=nullable(INTEGER),
               outcome=STRING, matched=INTEGER)  # fmt: skip
CASE_UPDATED = obj(
    'event_id', 'version', 'outcome', 'stage', 'matched', 'subscribed', 'warnings',
    event_id=nullable(INTEGER), version=nullable(INTEGER), outcome=STRING, stage={'enum': list(STAGES)},
    matched=INTEGER, subscribed=BOOLEAN, subscription=ANY_OBJECT, warnings={'type': 'array', 'items': STRING},
)  # fmt: skip
CASE = obj(
    'source', 'reference', 'stage', 'history', 'subscribers', 'messages', 'evidence_requests',
    source=STRING, reference=STRING, title=nullable(STRING), stage=nullable(STRING), history=ARRAY_OF_OBJECTS,
    subscribers=ARRAY_OF_OBJECTS, messages=ARRAY_OF_OBJECTS, evidence_requests=ARRAY_OF_OBJECTS,
    # updates on the case that finished more than TELLME_OUTBOX_KEEP_DAYS ago, kept only as counts by outcome
    older_messages={'type': 'object', 'additionalProperties': INTEGER},
)  # fmt: skip
PREVIEW = obj('subject', 'body', 'characters', 'fragments', subject=nullable(STRING), body=STRING,
              characters=INTEGER, fragments=INTEGER)  # fmt: skip
CASE_PREVIEW = obj('source', 'message', 'previews', source=STRING, message=STRING,
                   previews={'type': 'object', 'additionalProperties': PREVIEW})  # fmt: skip
UUID = {'type': 'string', 'format': 'uuid'}
ASSISTED = obj('subscription_id', 'status', 'notification_id', subscription_id=INTEGER,
               status={'enum': ['active', 'pending']}, notification_id=UUID)  # fmt: skip
EVIDENCE = obj('requests', requests={'type': 'array', 'items': obj(
    'id', 'source', 'reference', 'due_on', 'state', id=INTEGER, source=STRING, reference=STRING,
    due_on={'type': 'string', 'format': 'date'}, state=STRING, requested_at=MOMENT, closed_at=MOMENT)})  # fmt: skip
TEMPLATE = obj('stage', 'body', stage={'enum': list(STAGES)}, body=STRING)
STAGE_TEMPLATE = obj('stage', 'stage_name', 'body', stage={'enum': list(STAGES)}, stage_name=STRING, body=STRING,
                     updated_at=MOMENT)  # fmt: skip
TEMPLATES = obj('templates', 'placeholders', placeholders={'type': 'array', 'items': STRING},
                templates={'type': 'array', 'items': STAGE_TEMPLATE})  # fmt: skip
SUBSCRIBED = obj('subscription_id', 'status', 'confirmation', subscription_id=INTEGER, status={'const': 'pending'},
                 confirmation=obj('notification_id', 'channel', notification_id=UUID,
                                  channel={'enum': ['email', 'sms']}))  # fmt: skip
CONFIRMED = obj('subscription_id', 'status', subscription_id=INTEGER, status=STRING)
NOTIFICATION = obj(
    'id', 'status', 'channel', 'purpose', 'to', 'attempts', id=UUID, status=STRING,
    channel=STRING, purpose=STRING, to=STRING, attempts=INTEGER, last_error=nullable(STRING), created_at=MOMENT,
)  # fmt: skip
# health, last error, URL and reach only for admins and tokens bound to that source (sources/feeds/views.py)
SOURCES = obj('sources', sources={'type': 'array', 'items': obj(
    'name', 'kind', 'status', name=STRING, kind=STRING, status=STRING, interval_seconds=INTEGER, url=STRING,
    health=STRING, healthy=BOOLEAN, last_polled_at=MOMENT, last_error=nullable(STRING),
    secret_headers={'type': 'array', 'items': STRING}, allow_internal=BOOLEAN, allow_file=BOOLEAN)})  # fmt: skip
OVERVIEW = obj('since', 'days', 'subscribers', 'messages', 'failures', 'suppressed', 'sources', 'avoided_contacts',
               since=STRING, days={'type': 'array', 'items': STRING}, subscribers=ANY_OBJECT, messages=ANY_OBJECT,
               failures=ARRAY_OF_OBJECTS, suppressed=ARRAY_OF_OBJECTS, sources=ARRAY_OF_OBJECTS,
               avoided_contacts=obj('contacts', 'saving_pence', contacts=INTEGER, saving_pence=INTEGER))  # fmt: skip
BULLETIN = obj(
    'id', 'title', 'status', 'urgency', 'channels', 'audience', 'needs_approval', 'progress', id=INTEGER,
    title=STRING, status=STRING, urgency={'enum': list(URGENCIES)}, area={'enum': list(AREAS)},
    channels={'type': 'array', 'items': {'enum': list(CHANNELS)}}, audience=nullable(INTEGER),
    needs_approval=BOOLEAN, approved_by=nullable(STRING), send_at=MOMENT, finished_at=MOMENT,
    sent_back=nullable(obj('reason', 'by', 'at', reason=STRING, by=STRING, at=MOMENT)),
    progress=obj('total', 'finished', total=INTEGER, finished=BOOLEAN, by_channel=ANY_OBJECT),
)  # fmt: skip
BULLETIN_PREVIEW = obj(
    'id', 'status', 'messages', 'audience', 'cost', 'saving', 'needs_approval', id=INTEGER, status=STRING,
    messages={'type': 'array', 'items': obj('channel', 'language', 'body', 'characters', 'fragments',
                                            channel={'enum': list(CHANNELS)}, language=STRING,
                                            subject=nullable(STRING), body=STRING, characters=INTEGER,
                                            fragments=INTEGER)},
    audience=obj('people', people=INTEGER), cost=obj('texts', 'fragments', texts=INTEGER, fragments=INTEGER),
    saving=obj('calls', 'pence', calls=INTEGER, pence=INTEGER), needs_approval=BOOLEAN,
)  # fmt: skip
OPENAPI = obj('openapi', 'info', 'paths', openapi=STRING, info=ANY_OBJECT, paths=ANY_OBJECT)

TOPIC_KEY: Schema = {'type': 'string', 'minLength': 1, 'maxLength': KEY_MAX, 'pattern': TOPIC_PATTERN}
TOPIC = obj(
    'key', 'name_en', 'name_cy', 'hint_en', 'hint_cy', 'group', 'offered', 'subscriptions', key=STRING,
    name_en=STRING, name_cy=STRING, hint_en=STRING, hint_cy=STRING, group={'enum': list(GROUPS)}, offered=BOOLEAN,
    subscriptions=INTEGER,
)  # fmt: skip
TOPICS = obj('topics', 'groups', topics={'type': 'array', 'items': TOPIC},
             groups={'type': 'array', 'items': obj('key', 'name', key=STRING, name=STRING)})  # fmt: skip

# The bulletin compose body: the form's fields as JSON (subscriptions/bulletin_drafts.draft_from_json reads it).
STRINGS = {'type': 'array', 'items': STRING}
BULLETIN_DRAFT = obj(
    'title', 'message', 'area',
    title={'type': 'string', 'minLength': 1, 'maxLength': TITLE_MAX, 'pattern': r'\S'},
    message={'type': 'string', 'minLength': 1, 'maxLength': MESSAGE_MAX, 'pattern': r'\S'},
    topics={'type': 'array', 'minItems': 1, 'description': f'topic keys (GET /api/topics), or {ALL!r} for everyone',
            'items': {'anyOf': [{'const': ALL}, TOPIC_KEY]}}, area={'enum': list(AREAS)},
    wards={'description': 'wards: GSS ward codes and/or postcodes in the wards', **STRINGS},
    postcode={'type': 'string', 'description': 'radius: the centre'},
    radius_m={'type': 'integer', 'description': 'radius: metres'},
    postcodes={'description': 'list: postcodes', **STRINGS}, uprns={'description': 'list: UPRNs', **STRINGS},
    channels={'type': 'array', 'minItems': 1, 'items': {'enum': list(CHANNELS)}}, urgency={'enum': list(URGENCIES)},
)  # fmt: skip
STAGE = {'enum': list(STAGES), 'description': 'our stage'}
SEND_AT = obj(send_at={'description': 'an ISO 8601 time with its offset in the next 90 days; absent: now',
                       'type': 'string', 'format': 'date-time'})  # fmt: skip


@dataclass(frozen=True)
class Op:
    summary: str
    answer: Schema
    ok: int = 200
    body: type[BaseModel] | Schema | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()  # besides 400 for a body or parameters, and 401/403 for a guarded operation
    params: dict[str, Schema] = field(default_factory=dict)  # path parameters
    query: dict[str, Schema] = field(default_factory=dict)
    also_ok: tuple[int, ...] = ()  # other success codes with the same answer (e.g. 200 "unchanged" beside 201)
    same_answer: dict[int, str] = field(default_factory=dict)  # other codes with the same answer, and what they mean
    refine: dict[str, Schema] = field(default_factory=dict)  # body properties a model's validator checks further


def subscription_body() -> Schema:
    """POST /api/subscriptions reads Contact's fields and NewSubscription's side by side in one object."""
    merged = NewSubscription.model_json_schema(ref_template='#/components/schemas/{model}')
    contact = Contact.model_json_schema(ref_template='#/components/schemas/{model}')
    merged['properties'] = {**contact['properties'], **merged['properties']}
    merged['required'] = ['kind']
    merged['title'] = 'NewSubscriptionWithContact'
    merged['description'] = (
        'Who (email and/or mobile, language, postcode for a "near" subscription without lat/lng) and what they want '
        'to hear about. channels defaults to the ways of contact given.'
    )
    return merged


CHECK = obj('ok', 'detail', ok=BOOLEAN, detail=STRING, ms={'type': 'number'})
CHECKS = {'type': 'object', 'additionalProperties': CHECK}
LIVE = obj('status', status={'const': 'ok'})
READY = obj('status', 'checks', status={'enum': ['ready', 'unready', 'stopping']}, checks=CHECKS)
HEALTH = obj('status', 'checks', 'workers_alive', status={'enum': ['ok', 'unhealthy']}, checks=CHECKS,
             workers_alive=nullable(INTEGER))  # fmt: skip
# the probes (notifier/shell/views.py), described beside the API: load balancers and dashboards call them
PROBES = ('livez', 'readyz', 'healthz')

OPERATIONS: dict[str, Op] = {
    'livez': Op('Liveness: the process is serving (nothing outside it is checked)', LIVE),
    'readyz': Op(
        "Readiness: the database answers and has this code's newest migration, and Redis answers. A Notify outage "
        'or an unlinked Notify template never makes it fail (see /healthz). 503 as soon as the process is told to '
        'stop, so a load balancer drains it',
        READY,
        same_answer={503: 'Not ready: `checks` says which failed, or `status` is `stopping`'},
    ),
    'healthz': Op(
        'The detailed view for people: database, Redis and Notify reachability with timings, whether the Notify '
        'templates are linked, and how many workers are alive',
        HEALTH,
        same_answer={503: 'Something this process needs is not working: `checks` says which'},
    ),
    'api-openapi': Op('This document', OPENAPI),
    'api-events': Op(
        'Push one normalised event (case officers: cases only; comms: bulletins only)',
        INGESTED,
        ok=201,
        also_ok=(200,),
        body=Event,
        errors=(409,),
    ),  # fmt: skip
    'api-case-updates': Op(
        'Push what happened on a case; a consenting reporter is subscribed',
        CASE_UPDATED,
        ok=201,
        also_ok=(200,),
        body=CaseUpdate,
        errors=(409,),
        params={'reference': REFERENCE},
        refine={'stage': {'anyOf': [STAGE, {'type': 'null'}]}},
    ),
    'api-case': Op(
        'A case as an officer sees it: stage, history, subscribers (masked), messages and deliveries',
        CASE,
        errors=(404,),
        params={'reference': REFERENCE},
        query={'source': SOURCE_QUERY},
    ),
    'api-case-preview': Op(
        'What an update would say by email, text and letter, without sending it',
        CASE_PREVIEW,
        body=PreviewRequest,
        errors=(404,),
        params={'reference': REFERENCE},
        refine={'stage': STAGE},
    ),
    'api-case-subscribers': Op(
        'Assisted sign-up: subscribe a caller to a case, recording their consent',
        ASSISTED,
        ok=201,
        body=AssistedSignup,
        errors=(404, 409, 503),
        params={'reference': REFERENCE},
    ),
    'api-case-evidence': Op('The open requests for evidence, alerted ones first', EVIDENCE),
    'api-case-templates': Op('The message each case stage starts from, and the placeholders', TEMPLATES),
    'api-case-template': Op(
        "Change a stage's message template (audited)",
        TEMPLATE,
        body=TemplateBody,
        errors=(404,),
        params={'stage': {'type': 'string', 'minLength': 1, 'maxLength': 50, 'pattern': r'^[a-z_]+$'}},
    ),  # fmt: skip
    'api-subscriptions': Op(
        'Sign someone up: pending, with a confirmation message queued',
        SUBSCRIBED,
        ok=201,
        body=subscription_body(),
        errors=(409, 422, 503),
    ),
    'api-subscription-confirm': Op(
        'Confirm a subscription with the token from its confirmation link',
        CONFIRMED,
        body=ConfirmRequest,
        errors=(404, 409),
        params={'id': {'type': 'integer', 'minimum': 0, 'maximum': 10**18 - 1}},
    ),
    'api-notification': Op(
        'One message: its status, attempts and last error (contact masked)',
        NOTIFICATION,
        errors=(404,),
        params={'id': UUID},
    ),
    'api-sources': Op('Every feed; its health for admins and tokens bound to it', SOURCES),
    'api-overview': Op('The service overview: subscribers, messages, failures, source health, the saving', OVERVIEW),
    'api-bulletins': Op('Compose a bulletin (a draft)', BULLETIN, ok=201, body=BULLETIN_DRAFT),
    'api-topics': Op('The topic catalogue: every topic residents may choose (or not), by name', TOPICS),
    'api-topics-add': Op('Add a topic (audited)', TOPIC, ok=201, body=NewTopic, errors=(409,)),
    'api-topic': Op(
        "Change a topic's names, hints, group or whether residents may choose it (audited; its key never changes)",
        TOPIC,
        body=TopicChange,
        errors=(404,),
        params={'key': TOPIC_KEY},
    ),
    'api-bulletin': Op(
        'A bulletin: status and progress counts from the outbox',
        BULLETIN,
        errors=(404,),
        params={'bulletin_id': BULLETIN_ID},
    ),
    'api-bulletin-preview': Op(
        'Rendered messages, audience per channel, cost and the calls it may save',
        BULLETIN_PREVIEW,
        errors=(404,),
        params={'bulletin_id': BULLETIN_ID},
    ),
    'api-bulletin-send': Op(
        'Send now or schedule (large ones wait for an approver)',
        BULLETIN,
        body=SEND_AT,
        body_required=False,
        errors=(404, 409),
        params={'bulletin_id': BULLETIN_ID},
    ),
    'api-bulletin-approve': Op(
        'Approve a large bulletin (not the token that composed it)',
        BULLETIN,
        errors=(404, 409),
        params={'bulletin_id': BULLETIN_ID},
    ),
    'api-bulletin-send-back': Op(
        'Send a bulletin waiting for approval back to draft, with the reason its author reads (not the token that '
        'composed it)',
        BULLETIN,
        body=SendBack,
        errors=(404, 409),
        params={'bulletin_id': BULLETIN_ID},
    ),
    'api-bulletin-pause': Op('Pause sending', BULLETIN, errors=(404, 409), params={'bulletin_id': BULLETIN_ID}),
    'api-bulletin-resume': Op('Resume sending', BULLETIN, errors=(404, 409), params={'bulletin_id': BULLETIN_ID}),
    'api-bulletin-cancel': Op('Cancel', BULLETIN, errors=(404, 409), params={'bulletin_id': BULLETIN_ID}),
}

"""JSON bodies shaped like the real server's (create_response.py and the models' serialize methods)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from .rules.keys import Service, Template
from .store import COMPLETED_STATUSES, Notification, ReceivedText

DATETIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%fZ'


def fmt(value: datetime | None) -> str | None:
    return value.strftime(DATETIME_FORMAT) if value is not None else None


def post_response(n: Notification, url_root: str, service: Service) -> dict[str, Any]:
    """The 201 body of POST /v2/notifications/{sms,email,letter}. url_root ends with '/'."""
    body: dict[str, Any] = {
        'id': n.id,
        'reference': n.reference,
        'uri': f'{url_root}v2/notifications/{n.id}',
        'template': {
            'id': n.template_id,
            'version': n.template_version,
            'uri': f'{url_root}services/{n.service_id}/templates/{n.template_id}',
        },
        'scheduled_for': None,
    }
    if n.type == 'sms':
        body['content'] = {'body': n.body, 'from_number': service.sms_sender}
    elif n.type == 'email':
        body['content'] = {
            'subject': n.subject,
            'body': n.body,
            'from_email': service.email_from,
            'one_click_unsubscribe_url': n.one_click_unsubscribe_url,
        }
        body['sanitised_content'] = {}
    else:
        body['content'] = {'subject': n.subject, 'body': n.body}
    return body


def _cost(n: Notification, fragments: int) -> dict[str, Any]:
    if n.type == 'sms':
        return {'billable_sms_fragments': fragments, 'international_rate_multiplier': 1.0, 'sms_rate': 0.0227}
    if n.type == 'letter':
        return {'billable_sheets_of_paper': 1, 'postage': n.postage}
    return {}


def notification(n: Notification, url_root: str, fragments: int = 1) -> dict[str, Any]:
    """GET /v2/notifications/{id} and each item of the list."""
    lines = n.personalisation if n.type == 'letter' else {}
    ready = n.status in COMPLETED_STATUSES or n.type == 'email'
    body: dict[str, Any] = {
        'id': n.id,
        'reference': n.reference,
        'email_address': n.to if n.type == 'email' else None,
        'phone_number': n.to if n.type == 'sms' else None,
        **{f'line_{i}': lines.get(f'address_line_{i}') for i in range(1, 7)},
        'postcode': lines.get('postcode') or lines.get('address_line_7'),
        'type': n.type,
        'status': n.public_status,
        'template': {
            'id': n.template_id,
            'version': n.template_version,
            'uri': f'{url_root}service/{n.service_id}/template/{n.template_id}',
        },
        'body': n.body,
        'subject': n.subject,
        'created_at': fmt(n.created_at),
        'created_by_name': None,
        'sent_at': fmt(n.sent_at),
        'completed_at': fmt(n.updated_at) if n.status in COMPLETED_STATUSES else None,
        'scheduled_for': None,
        'postage': n.postage,
        'one_click_unsubscribe_url': n.one_click_unsubscribe_url,
        'cost_details': _cost(n, fragments) if ready else {},
        'cost_in_pounds': (0.0227 * fragments if n.type == 'sms' else 0.0) if ready else None,
        'is_cost_data_ready': ready,
    }
    if n.type == 'letter':
        body['estimated_delivery'] = fmt(n.created_at + timedelta(days=3))
    return body


def template(t: Template, placeholders: list[str], created_at: datetime) -> dict[str, Any]:
    return {
        'id': t.id,
        'name': t.name,
        'type': t.type,
        'created_at': fmt(created_at),
        'updated_at': None,
        'created_by': t.created_by,
        'version': t.version,
        'body': t.body,
        'subject': t.subject if t.type in ('email', 'letter') else None,
        'personalisation': {name: {'required': True} for name in placeholders},
        'postage': t.postage,
        'letter_contact_block': t.letter_contact_block,
    }


def preview(t: Template, body: str, subject: str | None) -> dict[str, Any]:
    html_body = None
    if t.type == 'email':
        paragraphs = ''.join(f'<p>{html.escape(p)}</p>' for p in body.split('\n\n'))
        html_body = f'<html><body>{paragraphs}</body></html>'
    return {
        'id': t.id,
        'type': t.type,
        'version': t.version,
        'body': body,
        'html': html_body,
        'subject': subject if t.type != 'sms' else None,
        'postage': t.postage,
    }


def delivery_callback(n: Notification) -> dict[str, Any]:
    return {
        'id': n.id,
        'reference': n.reference,
        'to': n.to,
        'status': n.status,
        'created_at': fmt(n.created_at),
        'completed_at': fmt(n.updated_at),
        'sent_at': fmt(n.sent_at),
        'notification_type': n.type,
        'template_id': n.template_id,
        'template_version': n.template_version,
    }


def received_text(t: ReceivedText) -> dict[str, Any]:
    return {
        'id': t.id,
        'user_number': t.user_number,
        'notify_number': t.notify_number,
        'created_at': fmt(t.created_at),
        'service_id': t.service_id,
        'content': t.content,
    }


def inbound_callback(t: ReceivedText) -> dict[str, Any]:
    return {
        'id': t.id,
        'source_number': t.user_number,
        'destination_number': t.notify_number,
        'message': t.content,
        'date_received': fmt(t.created_at),
    }

"""Authentication, in the real server's order, using the official client package's own JWT functions.

The iat window (±30 s) is checked by `decode_jwt_token` against the wall clock, as in the real server, because
client tokens carry wall-clock time; the simulator's injectable clock does not affect authentication.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import (
    TokenAlgorithmError,
    TokenDecodeError,
    TokenError,
    TokenExpiredError,
    TokenIssuerError,
)

from .errors import ApiError, auth_error
from .keys import ApiKey, Service

GENERAL_TOKEN_ERROR = (
    'Invalid token: make sure your API token matches the example at '
    'https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header'
)
CLOCK_ERROR = 'Error: Your system clock must be accurate to within 30 seconds'


def bearer_token(headers: Mapping[str, str]) -> str:
    header = headers.get('Authorization')
    if not header:
        raise auth_error(401, 'Unauthorized: authentication token must be provided')
    if header[:7].title() != 'Bearer ':
        raise auth_error(401, 'Unauthorized: authentication bearer scheme must be used')
    return header[7:]


def token_issuer(token: str) -> str:
    try:
        return str(get_token_issuer(token))
    except TokenIssuerError as exc:
        raise auth_error(403, 'Invalid token: iss field not provided') from exc
    except (TokenDecodeError, TokenError) as exc:
        raise auth_error(403, GENERAL_TOKEN_ERROR) from exc


def find_service(issuer: str, services: Mapping[str, Service]) -> Service:
    try:
        service_id = str(uuid.UUID(issuer))
    except (ValueError, AttributeError, TypeError) as exc:
        raise auth_error(403, 'Invalid token: service id is not the right data type') from exc
    service = services.get(service_id)
    if service is None:
        raise auth_error(403, 'Invalid token: service not found')
    if not service.keys:
        raise auth_error(403, 'Invalid token: service has no API keys')
    if service.archived:
        raise auth_error(403, 'Invalid token: service is archived')
    return service


def authenticate(headers: Mapping[str, str], services: Mapping[str, Service]) -> tuple[Service, ApiKey]:
    """Return the caller's service and key, or raise ApiError with Notify's exact 401/403 body."""
    token = bearer_token(headers)
    service = find_service(token_issuer(token), services)
    for key in service.keys:
        try:
            decode_jwt_token(token, key.secret)
        except TokenExpiredError as exc:
            raise auth_error(403, CLOCK_ERROR) from exc
        except TokenAlgorithmError as exc:
            raise auth_error(403, 'Invalid token: algorithm used is not HS256') from exc
        except TokenDecodeError:
            continue  # not signed with this key (a missing iat also lands here, as in the real server)
        except TokenError as exc:
            raise auth_error(403, GENERAL_TOKEN_ERROR) from exc
        if key.revoked:
            raise auth_error(403, 'Invalid token: API key revoked')
        return service, key
    raise auth_error(403, 'Invalid token: API key not found')


__all__ = ['ApiError', 'CLOCK_ERROR', 'GENERAL_TOKEN_ERROR', 'authenticate']

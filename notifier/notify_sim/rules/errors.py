"""Notify's v2 error envelope: {"status_code": N, "errors": [{"error": Class, "message": text}, ...]}."""

from __future__ import annotations

from aiohttp import web

RATE_LIMIT_NAMES = {'live': 'LIVE', 'team': 'TEAM', 'test': 'TEST'}


class ApiError(Exception):
    def __init__(self, status: int, error: str, *messages: str) -> None:
        super().__init__(f'{status} {error}: {"; ".join(messages)}')
        self.status = status
        self.error = error
        self.messages = messages

    def body(self) -> dict[str, object]:
        return {'status_code': self.status, 'errors': [{'error': self.error, 'message': m} for m in self.messages]}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def auth_error(status: int, message: str) -> ApiError:
    return ApiError(status, 'AuthError', message)


def bad_request(message: str, status: int = 400) -> ApiError:
    return ApiError(status, 'BadRequestError', message)


def validation_error(*messages: str) -> ApiError:
    return ApiError(400, 'ValidationError', *messages)


def no_result_found() -> ApiError:
    return ApiError(404, 'NoResultFound', 'No result found')


def rate_limit_error(key_type: str, limit: int) -> ApiError:
    name = RATE_LIMIT_NAMES[key_type]
    return ApiError(
        429, 'RateLimitError', f'Exceeded rate limit for key type {name} of {limit} requests per 60 seconds'
    )


def too_many_requests(limit_name: str, limit: int) -> ApiError:
    return ApiError(429, 'TooManyRequestsError', f'Exceeded send limits ({limit_name}: {limit}) for today')


def internal_error() -> ApiError:
    return ApiError(500, 'Exception', 'Internal server error')


def invalid_json() -> ApiError:
    return bad_request('Invalid JSON supplied in POST data')

"""The one settings factory: the app (or a job) on the suite's database and Redis, and the simulator if given.

A test that needs other values says so: `settings_for(services, council_name=…)`, or, for the `settings` and
`client` fixtures (tests/support/fixtures.py), a `@pytest.mark.settings(…)` on the test, its class or its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notifier.settings import Settings

if TYPE_CHECKING:  # conftest imports this module
    from tests.conftest import Services
    from tests.support.notify import RunningSim

SECRET = 'tell-me-tests-secret-' + 's' * 32
PUBLIC = 'http://tellme.test'  # plain HTTP: the test client keeps the (otherwise Secure) cookies


def settings_for(services: Services, sim: RunningSim | None = None, **overrides: Any) -> Settings:
    """Settings for our app on the test database and Redis (and talking to `sim`, the Notify simulator), with a
    secret key and a plain-HTTP public address unless `overrides` say otherwise."""
    values: dict[str, Any] = {
        'database_url': services.database_url,
        'redis_url': services.redis_url,
        'secret_key': SECRET,
        'public_url': PUBLIC,
        'worker_metrics_port': '0',  # off: a test that scrapes a worker gives it a free port
    }
    if sim is not None:
        values |= {'notify_api_key': sim.key, 'notify_base_url': sim.url}
    return Settings(**(values | overrides))

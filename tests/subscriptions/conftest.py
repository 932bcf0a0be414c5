"""The residents' pages (manage, your data, event pages) run as Testshire Council on their own secret and address
(tests/support/manage.py): the `settings` behind the `client` fixture."""

from __future__ import annotations

import pytest

from notifier.settings import Settings
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.manage import PAGES


@pytest.fixture
def settings(services: Services) -> Settings:
    return settings_for(services, **PAGES)

"""One module per feed format; ADAPTERS maps each kind name to its adapter."""

from __future__ import annotations

from sources.feeds.base import Adapter

ADAPTERS: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    ADAPTERS[adapter.kind] = adapter
    return adapter


import sources.feeds.adapters.ical  # noqa: E402, F401
import sources.feeds.adapters.mapped_csv  # noqa: E402, F401
import sources.feeds.adapters.open311  # noqa: E402, F401
import sources.feeds.adapters.planit  # noqa: E402, F401
import sources.feeds.adapters.planning_data  # noqa: E402, F401
import sources.feeds.adapters.ukbcd  # noqa: E402, F401

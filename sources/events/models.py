"""The normalised Event every source produces (a feed poll, a case system's push, a staff bulletin)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, model_validator

Urgency = Literal['normal', 'urgent']


class Change(BaseModel):
    """One meaningful field that changed since the previous version, in words a resident reads."""

    model_config = ConfigDict(frozen=True)

    field: str = Field(min_length=1, max_length=100)
    before: str | None = None
    after: str | None = None


class Event(BaseModel):
    """A piece of news about one thing in the world, identified by (source, external_key).

    `kind` is '<topic>.<what happened>' (e.g. 'planning.new', 'planning.decided', 'case.status'); `topic` is
    what residents subscribe to ('planning', 'licensing', 'bins', 'cases', 'bulletins/<name>').
    """

    model_config = ConfigDict(frozen=True, extra='forbid')

    source: str = Field(min_length=1, max_length=100, pattern=r'^[a-z0-9][a-z0-9_.-]*$')
    external_key: str = Field(min_length=1, max_length=300)
    kind: str = Field(pattern=r'^[a-z]+(\.[a-z_]+)+$', max_length=100)
    topic: str = Field(pattern=r'^[a-z]+(/[a-z0-9-]+)?$', max_length=100)
    title: str = Field(min_length=1, max_length=500)
    summary: str = Field('', max_length=5000)
    changes: list[Change] = Field(default_factory=list)
    lat: float | None = Field(None, ge=49.0, le=61.0)
    lng: float | None = Field(None, ge=-9.0, le=2.0)
    area_codes: list[str] = Field(default_factory=list, max_length=20)
    uprn: str | None = Field(None, pattern=r'^[0-9]{1,12}$')
    case_reference: str | None = Field(None, min_length=1, max_length=100)
    url: HttpUrl | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    urgency: Urgency = 'normal'
    occurred_at: AwareDatetime
    # what changes without being news, left out of the fingerprint: e.g. a bin schedule's rolling window of
    # future dates ('attributes.collection_dates') and the summary that lists them ('summary')
    fingerprint_ignores: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode='after')
    def _both_coordinates_or_neither(self) -> Event:
        if (self.lat is None) != (self.lng is None):
            raise ValueError('give both lat and lng, or neither')
        return self

    def fingerprint(self) -> str:
        """A hash of the fields that matter to a resident: the same record polled again hashes the same."""
        meaningful = self.model_dump(
            mode='json',
            include={'kind', 'title', 'summary', 'lat', 'lng', 'uprn', 'case_reference', 'url', 'attributes'},
        )
        for name in self.fingerprint_ignores:
            if name.startswith('attributes.'):
                meaningful['attributes'].pop(name.removeprefix('attributes.'), None)
            else:
                meaningful.pop(name, None)
        return hashlib.sha256(json.dumps(meaningful, sort_keys=True).encode()).hexdigest()

    @property
    def occurred(self) -> datetime:
        return self.occurred_at

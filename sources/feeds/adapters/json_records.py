"""Finding the records in a JSON register and flattening each to columns, for the mapped adapters (pure)."""

from __future__ import annotations

from typing import Any

from sources.feeds.base import SourceError


def records_in(document: Any, path: str | None) -> list[Any]:
    if path:
        node = document
        for part in path.split('.'):
            if not isinstance(node, dict) or part not in node:
                raise SourceError(f'the JSON has no {path!r} (records option): no {part!r} there')
            node = node[part]
        if not isinstance(node, list):
            raise SourceError(f'{path!r} in the JSON is not a list of records')
        return node
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for name in ('records', 'data', 'items', 'results', 'entities', 'features', 'premises'):
            if isinstance(document.get(name), list):
                return document[name]
    raise SourceError('cannot find the list of records in the JSON: say where with --option records=…')


def flatten(item: dict[str, Any], prefix: str = '') -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in item.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten(value, f'{name}.'))
        elif isinstance(value, list):
            flat[name] = ', '.join(str(part) for part in value if not isinstance(part, dict | list))
        else:
            flat[name] = '' if value is None else str(value)
    geometry = item.get('geometry')
    if not prefix and isinstance(geometry, dict) and geometry.get('type') == 'Point':
        lng, lat = (geometry.get('coordinates') or [None, None])[:2]
        flat['@lat'], flat['@lng'] = str(lat), str(lng)  # used when no lat/lng columns are mapped
    return flat

"""Open311 documents, JSON or XML, as a list of records (dicts of the request's fields): pure, like the adapters.

A page that is not an Open311 list (an HTML error page, the server's own error list, a DOCTYPE or entities, XML
that is not well-formed or in another encoding than it says) is a SourceError saying which, and where, without
quoting it (sources/feeds/base.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from sources.feeds.adapters.common import decode_json, json_type, where_in
from sources.feeds.base import Page, SourceError

LISTS = ('service_requests', 'service_request_updates', 'requests', 'request_updates')


def records(page: Page, options: Mapping[str, str]) -> list[dict[str, Any]]:
    if page.body.lstrip().removeprefix(b'\xef\xbb\xbf').lstrip()[:1] == b'<':
        return _xml_records(page.body, options.get('encoding'))
    document = decode_json(page, options, 'Open311 JSON')
    if isinstance(document, dict):
        for key in LISTS:
            if isinstance(document.get(key), list):
                document = document[key]
                break
        else:
            raise SourceError(f'not an Open311 list of requests: an object with none of {", ".join(LISTS)}')
    if not isinstance(document, list):
        raise SourceError(f'not an Open311 list of requests: {json_type(document)}')
    if document and all(isinstance(r, dict) and set(r) <= {'code', 'description'} and 'code' in r for r in document):
        raise _errors(len(document))
    return [r if isinstance(r, dict) else {'_not_an_object': json_type(r)} for r in document]


def _errors(count: int) -> SourceError:
    """The server's own error list (a bad api_key, jurisdiction or date): said, but not repeated back."""
    return SourceError(
        f'the server answered with an Open311 error list ({count} error{"s" if count != 1 else ""}) instead of '
        'requests: check the URL, its jurisdiction_id and api_key (open it to read the errors)'
    )


def _xml_records(body: bytes, encoding: str | None) -> list[dict[str, Any]]:
    head = body[:2000].lower()
    if b'<!doctype html' in head or b'<html' in head:
        raise SourceError('page is HTML, not Open311 XML (an error page served with 200?)')
    if b'<!doctype' in head or b'<!entity' in body.lower():
        raise SourceError('Open311 XML must not carry a DOCTYPE or entity declarations')
    declared = re.search(rb'<\?xml[^>]*encoding=["\']([A-Za-z0-9_.-]+)', body[:200])
    try:
        if encoding:  # the source says the server mislabels its encoding
            root = SafeElementTree.fromstring(re.sub(r'^\s*<\?xml[^>]*\?>', '', body.decode(encoding)))
        else:
            root = SafeElementTree.fromstring(body)
    except DefusedXmlException:
        # the byte check above misses a declaration in UTF-16; the parser itself refuses it here
        raise SourceError('Open311 XML must not carry a DOCTYPE or entity declarations') from None
    except LookupError:
        raise SourceError(f'option encoding={encoding!r} is not an encoding Python knows') from None
    except UnicodeDecodeError as error:
        raise SourceError(f'page cannot be read as {encoding} ({where_in(body, error.start)} does not fit)') from None
    except ElementTree.ParseError as error:
        raise _not_well_formed(body, declared.group(1).decode() if declared else 'utf-8', error) from None
    tag = root.tag.rsplit('}', 1)[-1]
    if tag == 'errors':
        raise _errors(len(root))
    if tag not in ('service_requests', 'service_request_updates', 'service_requests_updates'):
        raise SourceError('not an Open311 response: the root element is not service_requests or '
                          'service_request_updates')  # fmt: skip
    records = []
    for element in root:
        records.append({child.tag.rsplit('}', 1)[-1]: (child.text or '').strip() for child in element})
    return records


def _not_well_formed(body: bytes, label: str, error: ElementTree.ParseError) -> SourceError:
    """Why the XML could not be parsed: a byte that is not in its declared encoding (where, not what), else expat's
    description of the error (a fixed phrase such as 'mismatched tag') and its position. Expat's message itself can
    carry the document's text (an undefined entity's name), so it is rebuilt from the code."""
    try:
        body.decode(label)
    except UnicodeDecodeError as bad:
        return SourceError(
            f'page says it is {label} but {where_in(body, bad.start)}, is not; '
            'set --option encoding=cp1252 (or latin-1) if the server mislabels it'
        )
    except LookupError:
        pass
    line, column = error.position
    what = expat.errors.messages.get(error.code, 'not well-formed')
    return SourceError(f'page is not well-formed XML: {what} at line {line}, column {column + 1}')

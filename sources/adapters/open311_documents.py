"""Open311 documents, JSON or XML, as a list of records (dicts of the request's fields): pure, like the adapters.

A page that is not an Open311 list (an HTML error page, the server's own error list, a DOCTYPE or entities, XML
that is not well-formed or in another encoding than it says) is a SourceError saying which.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from sources.adapters.common import decode_json
from sources.base import Page, SourceError


def records(page: Page, options: Mapping[str, str]) -> list[dict[str, Any]]:
    if page.body.lstrip().removeprefix(b'\xef\xbb\xbf').lstrip()[:1] == b'<':
        return _xml_records(page.body, options.get('encoding'))
    document = decode_json(page, options, 'Open311 JSON')
    if isinstance(document, dict):
        for key in ('service_requests', 'service_request_updates', 'requests', 'request_updates'):
            if isinstance(document.get(key), list):
                document = document[key]
                break
        else:
            raise SourceError(f'not an Open311 list of requests: an object with keys {sorted(document)[:6]}')
    if not isinstance(document, list):
        raise SourceError(f'not an Open311 list of requests: {type(document).__name__}')
    if document and all(isinstance(r, dict) and set(r) <= {'code', 'description'} and 'code' in r for r in document):
        raise SourceError(
            'the server answered with errors: ' + '; '.join(f'{e["code"]} {e.get("description")}' for e in document)
        )
    return [r if isinstance(r, dict) else {'_not_an_object': repr(r)[:60]} for r in document]


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
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f'page cannot be read as {encoding}: {error}') from None
    except ElementTree.ParseError as error:
        label = declared.group(1).decode() if declared else 'utf-8'
        try:
            body.decode(label)
        except UnicodeDecodeError as bad:
            raise SourceError(
                f'page says it is {label} but byte 0x{body[bad.start]:02x} at offset {bad.start} is not; '
                'set --option encoding=cp1252 (or latin-1) if the server mislabels it'
            ) from None
        except LookupError:
            pass
        raise SourceError(f'page is not well-formed XML: {error}') from None
    tag = root.tag.rsplit('}', 1)[-1]
    if tag == 'errors':
        details = [f'{e.findtext("code", "")} {e.findtext("description", "")}'.strip() for e in root]
        raise SourceError('the server answered with errors: ' + '; '.join(details))
    if tag not in ('service_requests', 'service_request_updates', 'service_requests_updates'):
        raise SourceError(f'not an Open311 response: root element <{tag}>')
    records = []
    for element in root:
        records.append({child.tag.rsplit('}', 1)[-1]: (child.text or '').strip() for child in element})
    return records

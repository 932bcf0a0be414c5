"""A small, safe Markdown subset for the council's own pages (privacy notice, accessibility statement, contact).

A council writes these files; we render them, so what reaches a resident's browser is only what this module makes:

* `# Title` (the first one becomes the page's heading, later ones `<h2>`), `## Heading` (`<h2>`), `### Heading`
  (`<h3>`);
* paragraphs (lines next to each other; a line ending in two spaces or a backslash breaks the line, for addresses);
* bulleted lists (`- ` or `* `) and numbered lists (`1. ` or `1)`), one level;
* links, `[words](address)`, to `https://`, `mailto:` and `tel:` addresses and to this service's own pages (`/contact`).

Everything else is text: HTML (`<script>`) is escaped and shown as typed, and a link to any other address
(`javascript:`, `data:`, `http://`, `//elsewhere`) keeps its words and loses its address. `{council}` and the other
names in `values` are replaced with their (escaped) values in the words, never in an address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_HEADING = re.compile(r'^(#{1,3})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$')
_BULLET = re.compile(r'^[-*][ \t]+(.*)$')
_NUMBERED = re.compile(r'^[0-9]{1,3}[.)][ \t]+(.*)$')
_LINK = re.compile(r'\[([^\[\]\n]+)\]\(([^()\s]*)\)')
_PLACEHOLDER = re.compile(r'\{([a-z_]+)\}')
_TEL = re.compile(r'^\+?[0-9][0-9 ()\-]{2,30}$')
_MAILTO = re.compile(r'^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$')
HEADING_CLASSES = {2: 'govuk-heading-m', 3: 'govuk-heading-s'}
LIST_CLASSES = {'ul': 'govuk-list govuk-list--bullet', 'ol': 'govuk-list govuk-list--number'}


@dataclass(frozen=True)
class Rendered:
    title: str  # the text of the first `#` heading, or '' (the page then keeps its own)
    html: Markup  # everything else


def safe_url(address: str) -> str | None:
    """The address if a link may go there (https, mailto, tel, or a page of this service), else None."""
    if any(ord(char) < 33 or char in '\\"\'<>`' for char in address):
        return None
    if address.startswith('/') and not address.startswith('//'):
        return address
    scheme, _, rest = address.partition(':')
    scheme = scheme.lower()
    if scheme == 'https' and urlsplit(address).netloc:
        return address
    if scheme == 'mailto' and _MAILTO.match(rest.split('?', 1)[0]):
        return address
    if scheme == 'tel' and _TEL.match(rest):
        return 'tel:' + re.sub(r'[^0-9+]', '', rest)
    return None


def inline(text: str, values: Mapping[str, str] | None = None) -> Markup:
    """One line (or paragraph) of words and links, escaped."""
    values = values or {}
    out, at = [], 0
    for link in _LINK.finditer(text):
        out.append(_words(text[at : link.start()], values))
        words, address = _words(link[1], values), safe_url(link[2])
        out.append(Markup('<a class="govuk-link" href="{}">{}</a>').format(address, words) if address else words)
        at = link.end()
    out.append(_words(text[at:], values))
    return Markup('').join(out)


def _words(text: str, values: Mapping[str, str]) -> Markup:
    return Markup('').join(
        escape(values[part]) if index % 2 and part in values else escape(f'{{{part}}}' if index % 2 else part)
        for index, part in enumerate(_PLACEHOLDER.split(text))
    )


def render(source: str, values: Mapping[str, str] | None = None) -> Rendered:
    """The page from a council's Markdown file, as GOV.UK Frontend HTML."""
    page = _Page(values or {})
    for line in source.lstrip('\ufeff').replace('\r\n', '\n').replace('\r', '\n').split('\n'):
        page.add(line)
    page.close()
    return Rendered(page.title, Markup('\n').join(page.blocks))


class _Page:
    """The blocks read so far, and the paragraph or list still open."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.title = ''
        self.blocks: list[Markup] = []
        self.paragraph: list[str] = []
        self.items: list[list[str]] = []
        self.kind = ''  # 'ul' or 'ol' while a list is open

    def add(self, line: str) -> None:
        stripped, indented = line.strip(), line.startswith((' ', '\t'))
        heading, item = _HEADING.match(stripped), _BULLET.match(stripped) or _NUMBERED.match(stripped)
        if not stripped:
            self.close()
        elif heading and not indented:
            self.close()
            self.heading(len(heading[1]), heading[2])
        elif item and not indented:
            self.close_paragraph()
            kind = 'ul' if _BULLET.match(stripped) else 'ol'
            if kind != self.kind:
                self.close_list()
                self.kind = kind
            self.items.append([item[1]])
        elif self.items and indented:
            self.items[-1].append(stripped)  # a list item carried on to the next line
        else:
            self.close_list()
            self.paragraph.append(line.lstrip())

    def heading(self, level: int, text: str) -> None:
        if level == 1 and not self.title and not self.blocks:
            self.title = _plain(text, self.values)
            return
        level = max(level, 2)
        words = inline(text, self.values)
        self.blocks.append(Markup('<h{0} class="{1}">{2}</h{0}>').format(level, HEADING_CLASSES[level], words))

    def close(self) -> None:
        self.close_paragraph()
        self.close_list()

    def close_paragraph(self) -> None:
        if not self.paragraph:
            return
        parts = []
        for number, line in enumerate(self.paragraph):
            if number:  # a line ending in two spaces or a backslash breaks; other lines run on
                parts.append(Markup('<br>\n') if self.paragraph[number - 1].endswith(('  ', '\\')) else Markup(' '))
            parts.append(inline(line.rstrip(' ').removesuffix('\\').rstrip(), self.values))
        self.blocks.append(Markup('<p class="govuk-body">{}</p>').format(Markup('').join(parts)))
        self.paragraph.clear()

    def close_list(self) -> None:
        if self.items:
            body = Markup('').join(
                Markup('<li>{}</li>').format(inline(' '.join(part.strip() for part in item), self.values))
                for item in self.items
            )
            self.blocks.append(
                Markup('<{0} class="{1}">{2}</{0}>').format(Markup(self.kind), LIST_CLASSES[self.kind], body)
            )
            self.items.clear()
        self.kind = ''


def _plain(text: str, values: Mapping[str, str]) -> str:
    """A heading's words without link syntax, for the page's title (Jinja escapes it)."""
    words = _LINK.sub(lambda link: link[1], text)
    return _PLACEHOLDER.sub(lambda found: values.get(found[1], found[0]), words)

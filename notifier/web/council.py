"""The council's own words: its logo, contact details and pages (privacy notice, accessibility statement, contact),
read once when the web app starts.

The settings name them (TELLME_COUNCIL_LOGO, TELLME_COUNCIL_CONTACT, TELLME_COUNCIL_PAGES_DIR, checked when the
settings are read, so a missing file stops the start with its name); this module reads them and renders the pages
through the safe Markdown subset (notifier/web/safe_markdown.py). A page the council gives in one language only is
shown in that language to readers of the other too, marked with its language; a page it does not give is the shipped
one in templates/council_pages/ (the accessibility statement there names what only the council can complete), except
the contact page, which is made from TELLME_COUNCIL_CONTACT and the council's website (templates/pages/contact.html).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from markupsafe import Markup

import templates
from notifier.settings import COUNCIL_PAGES, Settings
from notifier.web import safe_markdown

logger = logging.getLogger('notifier.web.council')

SHIPPED = Path(templates.__file__).parent / 'council_pages'
LANGUAGES = ('en', 'cy')
LOGO_TYPES = {'.svg': 'image/svg+xml', '.png': 'image/png'}


@dataclass(frozen=True)
class CouncilPage:
    title: str  # the file's own heading ('': the page keeps its usual title)
    html: Markup
    lang: str  # the language it is written in, which may not be the reader's
    own: bool  # the council's words (False: the shipped page)


@dataclass(frozen=True)
class Logo:
    body: bytes
    content_type: str
    url: str  # changes when the file does, so browsers may keep it


@dataclass(frozen=True)
class Council:
    pages: Mapping[tuple[str, str], CouncilPage]  # (page, reader's language) → what they read
    contact: Mapping[str, tuple[Markup, ...]]  # language → the contact details' lines
    logo: Logo | None

    def page(self, name: str, lang: str) -> CouncilPage | None:
        return self.pages.get((name, lang))


COUNCIL = web.AppKey('council', Council)


def load(settings: Settings, retention: Mapping[str, str]) -> Council:
    """Everything the council set, read and rendered; `retention` is how long message contents are kept, in words,
    per language ('7 days', '7 diwrnod'), for the privacy notice's `{retention}`."""
    folder = Path(settings.council_pages_dir) if settings.council_pages_dir else None
    pages: dict[tuple[str, str], CouncilPage] = {}
    for name in COUNCIL_PAGES:
        for lang in LANGUAGES:
            found = _source(folder, name, lang)
            if found is None:
                continue
            path, written_in, own = found
            values = {
                'council': settings.council_name_for(written_in),
                'retention': retention[written_in],
                'service_url': settings.public_url,
            }
            rendered = safe_markdown.render(path.read_text(encoding='utf-8'), values)
            pages[name, lang] = CouncilPage(rendered.title, rendered.html, written_in, own)
    contact = {lang: tuple(safe_markdown.inline(line) for line in settings.council_contact_for(lang))
               for lang in LANGUAGES}  # fmt: skip
    council = Council(pages, contact, _logo(settings))
    _say_what_is_shown(council, settings)
    return council


def _source(folder: Path | None, name: str, lang: str) -> tuple[Path, str, bool] | None:
    """The file a reader of `lang` sees: the council's in their language, else in the other, else ours."""
    other = 'en' if lang == 'cy' else 'cy'
    if folder is not None:
        for written_in in (lang, other):
            path = folder / _file_name(name, written_in)
            if path.is_file():
                return path, written_in, True
    shipped = SHIPPED / _file_name(name, lang)
    return (shipped, lang, False) if shipped.is_file() else None


def _file_name(name: str, lang: str) -> str:
    return f'{name}.md' if lang == 'en' else f'{name}.{lang}.md'


def _logo(settings: Settings) -> Logo | None:
    if not settings.council_logo:
        return None
    path = Path(settings.council_logo)
    body = path.read_bytes()
    suffix = path.suffix.lower()
    return Logo(body, LOGO_TYPES[suffix], f'/council/logo{suffix}?v={hashlib.sha256(body).hexdigest()[:12]}')


def _say_what_is_shown(council: Council, settings: Settings) -> None:
    """One line for what the council gave, and a warning for what a council must complete itself."""
    given = sorted({f'{name} ({page.lang})' for (name, _), page in council.pages.items() if page.own})
    logger.info('council pages: %s', ', '.join(given) if given else 'none given, the shipped ones are shown')
    if not (page := council.page('accessibility', 'en')) or not page.own:
        logger.warning(
            'the accessibility statement is the shipped one, with parts only the council can complete: put your '
            'completed accessibility.md (and accessibility.cy.md) in TELLME_COUNCIL_PAGES_DIR'
        )
    if not council.page('contact', 'en') and not settings.council_contact and not settings.council_url:
        logger.warning(
            'the contact page has no contact details: set TELLME_COUNCIL_CONTACT or TELLME_COUNCIL_URL, or put '
            'contact.md in TELLME_COUNCIL_PAGES_DIR'
        )

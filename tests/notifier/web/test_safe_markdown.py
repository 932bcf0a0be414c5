"""The Markdown a council writes its pages in: headings, paragraphs, lists and links to https, mailto and tel (and
this service's own pages) become GOV.UK Frontend HTML; everything else is shown as the words it is."""

from __future__ import annotations

import pytest

from notifier.web.safe_markdown import inline, render, safe_url


def test_headings_paragraphs_and_lists_become_gov_uk_frontend_html() -> None:
    page = render(
        '# Privacy notice\n\nWe keep your email address.\nWe use it only for updates.\n\n## What we keep\n\n'
        '- your email address\n- what you asked\n  to hear about\n\n### How long\n\n1. a week\n2) then gone\n'
    )
    assert page.title == 'Privacy notice'
    assert page.html == (
        '<p class="govuk-body">We keep your email address. We use it only for updates.</p>\n'
        '<h2 class="govuk-heading-m">What we keep</h2>\n'
        '<ul class="govuk-list govuk-list--bullet"><li>your email address</li>'
        '<li>what you asked to hear about</li></ul>\n'
        '<h3 class="govuk-heading-s">How long</h3>\n'
        '<ol class="govuk-list govuk-list--number"><li>a week</li><li>then gone</li></ol>'
    )


def test_a_title_later_in_the_page_is_a_heading_and_a_page_may_have_none() -> None:
    page = render('Some words first.\n\n# Not the title\n')
    assert page.title == ''
    assert '<h2 class="govuk-heading-m">Not the title</h2>' in page.html


def test_an_address_keeps_its_lines() -> None:
    page = render('Trafford Town Hall  \nTalbot Road\\\nStretford M32 0TH\n')
    assert page.html == '<p class="govuk-body">Trafford Town Hall<br>\nTalbot Road<br>\nStretford M32 0TH</p>'


def test_links_go_only_to_https_mailto_tel_and_our_own_pages() -> None:
    html = inline(
        '[site](https://www.trafford.gov.uk/a?b=1&c=2) [mail](mailto:access@trafford.gov.uk) '
        '[phone](tel:0161-912-2000) [us](/contact)'
    )
    assert html == (
        '<a class="govuk-link" href="https://www.trafford.gov.uk/a?b=1&amp;c=2">site</a> '
        '<a class="govuk-link" href="mailto:access@trafford.gov.uk">mail</a> '
        '<a class="govuk-link" href="tel:01619122000">phone</a> <a class="govuk-link" href="/contact">us</a>'
    )


@pytest.mark.parametrize(
    'address',
    ['javascript:alert(document.cookie)', 'JavaScript:alert%281%29', 'data:text/html,<b>x</b>', 'http://example.org',
     '//evil.example', 'vbscript:msgbox', 'mailto:nobody', 'tel:call-me', '&#106;avascript:alert', '/\\evil.example',
     'https:', ''],
)  # fmt: skip
def test_a_link_anywhere_else_keeps_its_words_and_loses_its_address(address: str) -> None:
    assert safe_url(address) is None
    html = str(inline(f'[Click here]({address})'))
    assert '<a' not in html and 'href' not in html and 'Click here' in html


def test_a_javascript_link_with_brackets_in_it_is_shown_as_the_text_it_is() -> None:
    html = str(inline('[Click here](javascript:alert(1))'))
    assert '<a' not in html and html == '[Click here](javascript:alert(1))'


def test_html_is_shown_as_text_never_run() -> None:
    page = render(
        '# <img src=x onerror=alert(1)>\n\n<script>alert("hi")</script>\n\n- <b onmouseover=alert(1)>bold</b>\n\n'
        '## <a href="javascript:alert(1)">x</a>\n\n[<script>x</script>](https://example.org/"onmouseover="alert(1))\n'
    )
    html = str(page.html)
    assert '<script' not in html and '<b ' not in html and '<img' not in html and 'href="javascript' not in html
    assert '&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;' in html
    assert page.title == '<img src=x onerror=alert(1)>', 'the title is plain text; the page template escapes it'
    assert 'onmouseover="' not in html


def test_the_councils_name_and_other_values_fill_their_places_escaped() -> None:
    page = render(
        '# Privacy notice for {council}\n\n{council} keeps messages for {retention}. {unknown} stays.\n\n'
        '[{council}](https://example.org/{council})',
        {'council': 'Smith & <Jones> Council', 'retention': '7 days'},
    )
    assert page.title == 'Privacy notice for Smith & <Jones> Council'
    assert 'Smith &amp; &lt;Jones&gt; Council keeps messages for 7 days. {unknown} stays.' in page.html
    assert 'href="https://example.org/{council}">Smith &amp; &lt;Jones&gt; Council</a>' in page.html


def test_windows_line_endings_and_a_byte_order_mark_are_forgiven() -> None:
    page = render('\ufeff# Title\r\n\r\nWords\r\n')
    assert page.title == 'Title' and page.html == '<p class="govuk-body">Words</p>'

"""The topic catalogue: every topic's key, its name and hint in English and Welsh, its group, and whether residents
may choose it (`offered`). Sign-up, the manage pages, bulletins and the overview read it; `add` and `change` are the
only writers, each with its audit entry in the same transaction (the staff pages, `tellme topics` and /api/topics
all come here, so they check the same rules).

Matching never reads the catalogue: subscriptions and events carry keys ('planning', 'bulletins/roads'), so renaming
a topic changes only what people read, and hiding one stops offering it while the subscriptions that have it keep it
and still hear of it. A key the catalogue does not hold is named after its topic ('bulletins/roads' as Council news)
or, failing that, after the key itself, so no page shows a bare key.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from notifier import audit
from subscriptions.residents.models import TOPIC_PATTERN

# in the order topics are listed; the names are for staff pages (residents see topics, not groups)
GROUPS = OrderedDict([
    ('planning', 'Planning'), ('licensing', 'Licensing'), ('roads', 'Roads and transport'),
    ('consultations', 'Consultations'), ('news', 'Council news'), ('bins', 'Bins and recycling'),
    ('cases', 'Cases (never offered to residents)'), ('other', 'Other'),
])  # fmt: skip
INTERNAL_GROUPS = ('cases',)
KEY = re.compile(TOPIC_PATTERN)
KEY_MAX, NAME_MAX, HINT_MAX = 40, 80, 200
TEXTS = ('name_en', 'name_cy', 'hint_en', 'hint_cy')
FIELDS = (*TEXTS, 'group', 'offered')
COLUMNS = 'key, name_en, name_cy, hint_en, hint_cy, group_key, offered'
SELECT = f'select {COLUMNS} from topics'


class TopicProblem(ValueError):
    """What is wrong, as {field: what to do} (the page's error summary, the API's `errors`, the command's lines)."""

    def __init__(self, errors: Mapping[str, str], *, status: int = 400) -> None:
        super().__init__('; '.join(errors.values()))
        self.errors, self.status = dict(errors), status


@dataclass(frozen=True)
class Topic:
    key: str
    name_en: str
    name_cy: str = ''
    hint_en: str = ''
    hint_cy: str = ''
    group: str = 'other'
    offered: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Topic:
        return cls(row['key'], row['name_en'], row['name_cy'], row['hint_en'], row['hint_cy'], row['group_key'],
                   row['offered'])  # fmt: skip

    def name(self, lang: str = 'en') -> str:
        """The name a reader of `lang` sees (the English one where no Welsh name is given)."""
        return self.name_cy if lang == 'cy' and self.name_cy else self.name_en

    def hint(self, lang: str = 'en') -> str:
        return self.hint_cy if lang == 'cy' and self.hint_cy else self.hint_en

    @property
    def group_name(self) -> str:
        return GROUPS.get(self.group, self.group)

    def as_json(self) -> dict[str, Any]:
        return {'key': self.key, 'name_en': self.name_en, 'name_cy': self.name_cy, 'hint_en': self.hint_en,
                'hint_cy': self.hint_cy, 'group': self.group, 'offered': self.offered}  # fmt: skip


def _order(topic: Topic) -> tuple[int, str]:
    groups = list(GROUPS)
    return (groups.index(topic.group) if topic.group in GROUPS else len(groups), topic.name_en.lower())


def humanise(key: str) -> str:
    """'tree-works' → 'Tree works': a name for a key nobody has named."""
    words = key.replace('/', ': ').replace('-', ' ').strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as read once (per page or command), in display order: by group, then by English name."""

    topics: tuple[Topic, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, 'topics', tuple(sorted(self.topics, key=_order)))

    def get(self, key: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.key == key), None)

    def find(self, key: str) -> Topic | None:
        """The topic itself, else its root ('bulletins/roads' is Council news), else None."""
        return self.get(key) or self.get(key.split('/', 1)[0])

    def name(self, key: str, lang: str = 'en') -> str:
        """'Roadworks and road closures'; a part of a topic nobody named, 'Council news: Roads'; else the key as
        words ('Tree works')."""
        exact = self.get(key)
        if exact:
            return exact.name(lang)
        root, _, part = key.partition('/')
        found = self.get(root)
        if found:
            return f'{found.name(lang)}: {humanise(part)}' if part else found.name(lang)
        return humanise(key)

    def names(self) -> dict[str, tuple[str, str]]:
        """key → (English name, Welsh name or ''), for the wording of messages (templates.personalisation)."""
        return {topic.key: (topic.name_en, topic.name_cy) for topic in self.topics}

    def offered(self) -> list[Topic]:
        return [topic for topic in self.topics if topic.offered]

    def choices(self, lang: str, current: Iterable[str] = ()) -> list[dict[str, str]]:
        """Checkbox items: every offered topic, and any topic in `current` that is not (hidden, or unknown), so a
        resident with a hidden topic keeps it unless they untick it."""
        items = [{'value': t.key, 'text': t.name(lang), 'hint': t.hint(lang)} for t in self.offered()]
        shown = {item['value'] for item in items}
        for key in current:
            if key not in shown:
                found = self.get(key)
                items.append({'value': key, 'text': self.name(key, lang), 'hint': found.hint(lang) if found else ''})
                shown.add(key)
        return items


async def load(db: asyncpg.Pool | asyncpg.Connection) -> Catalogue:
    return Catalogue(tuple(Topic.from_row(row) for row in await db.fetch(SELECT)))


async def names(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, tuple[str, str]]:
    return (await load(db)).names()


# --- the rules, and the only writers ---------------------------------------------------------------------------


def _one_line(value: object) -> str:
    return ' '.join(str(value or '').split())


def cleaned(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields, texts on one line without extra spaces (the fields not given are left out)."""
    found: dict[str, Any] = {}
    for name in FIELDS:
        if name in values and values[name] is not None:
            found[name] = bool(values[name]) if name == 'offered' else _one_line(values[name])
    return found


def key_problem(key: str) -> str | None:
    if not key:
        return 'Enter a key, like roadworks'
    if len(key) > KEY_MAX or not KEY.fullmatch(key):
        return (
            f'The key must be up to {KEY_MAX} lower-case letters, like roadworks (or a part of a topic, like '
            'bulletins/parks); it never changes'
        )
    if key.split('/', 1)[0] == 'staff':
        return 'Keys starting staff are for alerts to staff: choose another key'
    return None


def problems(topic: Topic) -> OrderedDict[str, str]:
    """What is wrong with the topic on its own (the database is asked about duplicates in `_duplicates`)."""
    errors: OrderedDict[str, str] = OrderedDict()
    if not topic.name_en:
        errors['name_en'] = 'Enter the name residents read, like Roadworks and road closures'
    for field, limit, what in (('name_en', NAME_MAX, 'The name'), ('name_cy', NAME_MAX, 'The Welsh name'),
                               ('hint_en', HINT_MAX, 'The hint'), ('hint_cy', HINT_MAX, 'The Welsh hint')):  # fmt: skip
        if len(getattr(topic, field)) > limit and field not in errors:
            errors[field] = f'{what} must be {limit} characters or fewer'
    if topic.group not in GROUPS:
        errors['group'] = 'Select the group the topic belongs to'
    elif topic.offered and topic.group in INTERNAL_GROUPS:
        errors['offered'] = (
            'Case updates go only to the people following a case, so a topic in the Cases group cannot be offered '
            'to residents'
        )
    return errors


async def _duplicates(conn: asyncpg.Connection, topic: Topic, errors: OrderedDict[str, str]) -> None:
    for field in ('name_en', 'name_cy'):
        name = getattr(topic, field)
        if not name or field in errors:
            continue
        other = await conn.fetchval(
            f'select key from topics where lower({field}) = lower($1) and key <> $2 limit 1', name, topic.key
        )
        if other:
            errors[field] = f'Another topic ({other}) is already called {name}: residents could not tell them apart'


async def add(conn: asyncpg.Connection, key: str, values: Mapping[str, Any], actor: audit.Actor) -> Topic:
    """A new topic (offered unless `values` says otherwise), with its audit entry. TopicProblem naming each field."""
    key = _one_line(key)
    given = cleaned(values)
    topic = Topic(key=key, **{'name_en': '', 'offered': True, 'group': '', **given})
    errors: OrderedDict[str, str] = OrderedDict()
    problem = key_problem(key)
    if problem:
        errors['key'] = problem
    errors.update(problems(topic))
    async with conn.transaction():
        if 'key' not in errors and await conn.fetchval('select exists (select 1 from topics where key = $1)', key):
            raise TopicProblem({'key': f'There is already a topic with the key {key}: change that one instead'},
                               status=409)  # fmt: skip
        await _duplicates(conn, topic, errors)
        if errors:
            raise TopicProblem(errors)
        await conn.execute(
            'insert into topics (key, name_en, name_cy, hint_en, hint_cy, group_key, offered) '
            'values ($1, $2, $3, $4, $5, $6, $7)',
            topic.key, topic.name_en, topic.name_cy, topic.hint_en, topic.hint_cy, topic.group, topic.offered,
        )  # fmt: skip
        await audit.record(conn, actor, 'topic.add', target_kind='topic', target_id=key, details=topic.as_json())
    return topic


class TopicNotFound(LookupError):
    pass


async def change(conn: asyncpg.Connection, key: str, values: Mapping[str, Any], actor: audit.Actor) -> Topic:
    """Change the fields given (the key never changes); audited with what changed, as `topic.hide` or `topic.offer`
    when only whether residents may choose it changed. Nothing changed: nothing written. TopicNotFound, TopicProblem.
    """
    async with conn.transaction():
        row = await conn.fetchrow(f'{SELECT} where key = $1 for update', key)
        if row is None:
            raise TopicNotFound(key)
        before = Topic.from_row(row)
        after = Topic(**{**before.__dict__, **cleaned(values)})
        errors = problems(after)
        await _duplicates(conn, after, errors)
        if errors:
            raise TopicProblem(errors)
        changed = {name: [getattr(before, name), getattr(after, name)] for name in FIELDS
                   if getattr(before, name) != getattr(after, name)}  # fmt: skip
        if not changed:
            return after
        await conn.execute(
            'update topics set name_en = $2, name_cy = $3, hint_en = $4, hint_cy = $5, group_key = $6, offered = $7, '
            'updated_at = now() where key = $1',
            key, after.name_en, after.name_cy, after.hint_en, after.hint_cy, after.group, after.offered,
        )  # fmt: skip
        action = ('topic.offer' if after.offered else 'topic.hide') if set(changed) == {'offered'} else 'topic.change'
        await audit.record(conn, actor, action, target_kind='topic', target_id=key, details={'changed': changed})
    return after


async def subscribers(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, int]:
    """key → active subscriptions naming it (or a part of it), for the admin page: what hiding a topic leaves."""
    rows = await db.fetch(
        """
        select split_part(t.topic, '/', 1) as key, count(distinct s.id) as n
        from subscriptions s cross join unnest(s.topics) as t(topic)
        where s.status = 'active' group by 1
        """
    )
    return {row['key']: row['n'] for row in rows}

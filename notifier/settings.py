"""Settings: the only place Tell Me reads its environment.

One `Settings` object is built by the CLI and passed explicitly to the web app, the worker and the
migration runner. There is deliberately no module-level instance.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from arq.connections import RedisSettings
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NOTIFY_PRODUCTION_URL = 'https://api.notifications.service.gov.uk'
PACKAGE_VENDOR_DIR = Path(__file__).resolve().parent / 'static' / 'vendor'


class Settings(BaseSettings):
    """Every `TELLME_*` variable, with the default a council developer's laptop needs.

    An empty `database_url`, `redis_url` or `notify_api_key` means "start the embedded one" in
    `tellme dev`; the production commands (`web`, `worker`, `migrate`) refuse to run without them.
    """

    model_config = SettingsConfigDict(env_prefix='TELLME_', frozen=True, extra='ignore')

    database_url: str = ''
    redis_url: str = ''
    notify_api_key: SecretStr = SecretStr('')
    notify_base_url: str = NOTIFY_PRODUCTION_URL
    notify_rate_limit: int = Field(3000, gt=0, description="Notify's per-minute limit for our service and key type")
    notify_rate_fraction: float = Field(
        0.995, gt=0, le=1, description="share of Notify's refill rate our senders sustain (the rest covers clock error)"
    )
    notify_burst: int | None = Field(
        None,
        ge=0,
        description="most requests our senders spend at once after an idle spell; unset: Notify's bucket "
        '(min(limit/3 + 1, 1000)) less a margin for requests in transit, which also caps any value given',
    )
    notify_callback_token: SecretStr = SecretStr('')
    notify_timeout: float = Field(10.0, gt=0, description='seconds before a Notify request is given up as unknown')
    notify_channels: str = Field(
        'email,sms,letter', description='the channels this council sends on: each needs its template linked in Notify'
    )
    notify_email_reply_to_id: str = Field(
        '', description="Notify's id of the reply-to email address for emails (Settings → Reply-to email addresses)"
    )
    notify_sms_sender_id: str = Field(
        '', description="Notify's id of the text message sender (Settings → Text message senders)"
    )
    notify_daily_limit_email: int = Field(250_000, ge=1, description="Notify's daily email limit for the service")
    notify_daily_limit_sms: int = Field(250_000, ge=1, description="Notify's daily text message limit for the service")
    notify_daily_limit_letter: int = Field(20_000, ge=1, description="Notify's daily letter limit for the service")
    notify_daily_reserve: float = Field(
        0.1,
        ge=0,
        lt=1,
        description='share of each day’s Notify allowance kept for sign-in codes, confirmations and urgent messages: '
        'bulletins and other news use the rest, and a bigger bulletin is spread over the following days',
    )
    notify_technical_failure_resends: int = Field(
        2,
        ge=0,
        le=5,
        description='how many times an email or text that Notify reports as technical-failure is sent again (each a '
        'new Notify notification for the same message); letters never are',
    )
    notify_lookup_after_hours: float = Field(
        6,
        gt=0,
        description='a message Notify accepted but sent no receipt for after this long is looked up at Notify',
    )
    notify_lookup_every_hours: float = Field(
        24,
        gt=0,
        description='and looked up again this often, until Notify gives its final word or no longer holds it',
    )
    notification_retention_days: int = Field(
        7,
        ge=1,
        le=3650,
        description="days after a message finished before what it said, and the address in Notify's receipt, are "
        'deleted (its status and times stay); the privacy notice states it',
    )
    outbox_keep_days: int = Field(
        35,
        ge=31,
        le=3650,
        description='days after a message finished before its row leaves the outbox and is kept only as a count (per '
        'day, channel, purpose, status and event); at least 31, as the overview counts 30 days from the rows',
    )
    public_url: str = 'http://localhost:8080'
    secret_key: SecretStr = SecretStr('')
    # The council's own words (README "Your council's words"): its name, website, logo, contact details and pages.
    council_name: str = Field('Your council', description='shown in the pages and messages: whose service this is')
    council_name_cy: str = Field('', description="the council's name in Welsh; empty: TELLME_COUNCIL_NAME")
    council_url: str = Field('', description="the council's own website, linked from every page's footer")
    council_url_cy: str = Field('', description="the council's Welsh website; empty: TELLME_COUNCIL_URL")
    council_logo: str = Field(
        '', description="an SVG or PNG file: the council's logo in every page's header (its alt text the council's "
        'name); empty: the name in words'
    )  # fmt: skip
    council_contact: str = Field(
        '', description='phone, email, address for the contact page, a line each (new lines, or \\n), links as '
        '[words](tel:…)'
    )  # fmt: skip
    council_contact_cy: str = Field('', description='the same in Welsh; empty: TELLME_COUNCIL_CONTACT')
    council_pages_dir: str = Field(
        '', description="a folder of the council's own pages: privacy.md, accessibility.md, contact.md and their "
        'Welsh privacy.cy.md, …; empty (or a page missing): the shipped ones'
    )  # fmt: skip
    council_districts: str = Field(
        '', description='the GSS codes of the local authority districts the council covers, e.g. E08000009; a '
        'postcode elsewhere is told it is outside the area; empty: no check'
    )  # fmt: skip
    proxy_hops: int = Field(
        0,
        ge=0,
        le=5,
        description='reverse proxies in front (load balancer, CDN): clients are read from X-Forwarded-For',
    )
    host: str = '127.0.0.1'
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path('.tellme')
    assets_dir: str = Field(
        '',
        description='where `tellme assets` puts GOV.UK Frontend and the web app serves it from (/static/vendor/); '
        "empty: the package's own static/vendor folder",
    )
    notify_sim_port: int = Field(8081, ge=0, le=65535, description='port of the embedded simulator in tellme dev')
    log_level: str = 'INFO'
    log_format: Literal['', 'json', 'text'] = Field(
        '',
        description="'json' (one JSON object per line) or 'text' (readable lines); empty: json for tellme web and "
        'tellme worker, text for tellme dev and the other commands',
    )
    log_client_ip: bool = Field(
        False, description="put the client's IP address (personal data) in the access log lines of web requests"
    )
    demo: bool = Field(
        True,
        description='tellme dev only: the demo (demo residents, addresses, a bin calendar and a case system as polled '
        'sources) and a demo event a minute',
    )
    # Sizing (README "Sizing"): every process's PostgreSQL connections must fit the server's max_connections:
    # web processes × web pool + worker processes × (worker pool + 4 feed-poll locks) ≤ max_connections − reserve.
    web_database_pool: int = Field(10, ge=1, le=500, description="connections in each web process's pool")
    worker_database_pool: int = Field(
        5, ge=2, le=500, description="connections in each worker process's pool (feed polls take up to 4 more)"
    )
    worker_max_jobs: int = Field(20, ge=1, le=1000, description='arq jobs one worker process runs at once')
    sender_concurrency: int = Field(
        16, ge=1, le=1000, description="sends in flight per worker process (about Notify's rate × its latency)"
    )
    sender_batch: int = Field(
        16, ge=1, le=1000, description='most outbox rows one claim takes (never more than the free send slots)'
    )
    database_pooler: Literal['none', 'pgbouncer'] = Field(
        'none',
        description="'pgbouncer' when TELLME_DATABASE_URL goes through PgBouncer in transaction mode: asyncpg's "
        'prepared statement cache is then off and `tellme migrate` needs TELLME_MIGRATE_DATABASE_URL',
    )
    database_statement_cache: int | None = Field(
        None, ge=0, le=10_000, description="asyncpg's prepared statements kept per connection; empty: 0 behind "
        'PgBouncer, else 100'
    )  # fmt: skip
    migrate_database_url: str = Field(
        '', description='a direct (or session-mode pooled) URL for `tellme migrate`; empty: TELLME_DATABASE_URL'
    )
    shutdown_grace: float = Field(
        20, gt=0, le=3600, description='seconds a process has, after SIGTERM, to finish what it is doing and exit'
    )
    shutdown_drain: float = Field(
        5, ge=0, le=3600, description='seconds the web keeps serving after SIGTERM with /readyz answering 503, so '
        'load balancers take it out before it stops accepting (part of the grace)'
    )  # fmt: skip
    worker_heartbeat_seconds: float = Field(
        10, ge=0.1, le=3600, description='how often a worker writes its heartbeat; it is stale after 2.5 times this, '
        'and the sweeper then takes back the messages it had claimed'
    )  # fmt: skip
    worker_probe_port: int = Field(
        0, ge=0, le=65535, description="a worker's own /livez and /readyz on TELLME_HOST at this port; 0: off"
    )
    worker_stuck_after: float = Field(
        120, gt=0, le=86_400, description='a worker whose sender has not gone round its loop for this long is stuck'
    )
    # Bulletins (issue 6): what a text costs, when a second person must approve, what a message saves
    sms_price_pence: float = Field(
        2.27, ge=0, description='GOV.UK Notify: pence (before VAT) per text message fragment after the free allowance'
    )
    approval_threshold: int = Field(
        5000, ge=0, description='a bulletin reaching more people than this needs a second person with the approver role'
    )
    saving_per_contact_pence: int = Field(
        268, ge=0, description='what a message that saves a phone call saves: £2.83 − £0.15 (SOCITM 2012), in pence'
    )
    # Ask by text (issue 15): answers to BINS, HELP and case references on the council's Notify inbound number
    text_replies_per_day: int = Field(
        5,
        ge=0,
        le=100,
        description='at most this many automatic answers to one number in any 24 hours (0: none); past it, its texts '
        'wait for staff, so two auto-responders texting each other cannot run up the bill',
    )
    text_staff_reply_days: int = Field(
        2, ge=1, le=30, description='working days within which staff answer a text; the acknowledgement says it'
    )
    # Staff sign-in through the council's OpenID Connect provider (e.g. Microsoft Entra ID); off while the issuer is
    # empty. The redirect URI to register with the provider is {public_url}/staff/sign-in/oidc/callback.
    oidc_issuer: str = Field(
        '', description="the provider's issuer URL, e.g. https://login.microsoftonline.com/TENANT/v2.0"
    )
    oidc_client_id: str = Field('', description='the application (client) id registered with the provider')
    oidc_client_secret: SecretStr = Field(SecretStr(''), description="the application's client secret")
    oidc_roles_claim: str = Field(
        '', description='a claim (e.g. roles or groups) whose values name Tell Me roles; empty: accounts must exist'
    )
    oidc_email_verified_claim: str = Field(
        'email_verified',
        description='the claim that must be true for the email claim to be trusted (Microsoft Entra ID: xms_edov, '
        'added as an optional claim in the app registration)',
    )

    @field_validator('database_url', 'migrate_database_url')
    @classmethod
    def _postgres_scheme(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ('postgres', 'postgresql'):
            raise ValueError('must be a postgresql:// URL')
        return value

    @field_validator('redis_url')
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ('redis', 'rediss', 'unix'):
            raise ValueError('must be a redis://, rediss:// or unix:// URL')
        return value

    @field_validator('notify_base_url', 'public_url')
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError('must be an http:// or https:// URL')
        return value.rstrip('/')

    @field_validator('council_url', 'council_url_cy')
    @classmethod
    def _website(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if value.strip() and (parts.scheme not in ('http', 'https') or not parts.netloc):
            raise ValueError("must be the council website's https:// address")
        return value.strip()

    @field_validator('council_logo', 'council_pages_dir')
    @classmethod
    def _council_path(cls, value: str, info: ValidationInfo) -> str:
        """The council's logo file or pages folder, checked (check_logo, check_pages_dir) and made absolute."""
        check = check_logo if info.field_name == 'council_logo' else check_pages_dir
        return str(check(Path(value.strip()).expanduser())) if value.strip() else ''

    @field_validator('council_districts')
    @classmethod
    def _districts(cls, value: str) -> str:
        typed = [code for code in re.split(r'[\s,]+', value) if code]
        wrong = [code for code in typed if not re.fullmatch(r'[A-Z][0-9]{8}', code.upper())]
        if wrong:
            raise ValueError(
                f'{", ".join(wrong[:3])}: not a district GSS code; list the codes of your districts, such as '
                'E08000009, separated by commas'
            )
        return ','.join(dict.fromkeys(code.upper() for code in typed))

    @field_validator('oidc_issuer')
    @classmethod
    def _oidc_issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.hostname in ('localhost', '127.0.0.1', '::1')
        if value and (parts.scheme != 'https' and not (parts.scheme == 'http' and local) or not parts.netloc):
            raise ValueError("must be an https:// URL (the issuer named in the provider's discovery document)")
        return value.rstrip('/')

    @model_validator(mode='after')
    def _public_url_from_port(self) -> Settings:
        """Unless TELLME_PUBLIC_URL is set, links point at the address this process serves (TELLME_HOST/PORT)."""
        if 'public_url' not in self.model_fields_set:
            host = 'localhost' if self.host in ('0.0.0.0', '::', '127.0.0.1', '') else self.host  # noqa: S104
            object.__setattr__(self, 'public_url', f'http://{host}:{self.port}')
        return self

    @model_validator(mode='after')
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret.get_secret_value()):
            raise ValueError('TELLME_OIDC_ISSUER needs TELLME_OIDC_CLIENT_ID and TELLME_OIDC_CLIENT_SECRET as well')
        return self

    @field_validator('database_statement_cache', mode='before')
    @classmethod
    def _empty_is_automatic(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode='after')
    def _drain_within_grace(self) -> Settings:
        if self.shutdown_drain >= self.shutdown_grace:
            raise ValueError('TELLME_SHUTDOWN_DRAIN must be shorter than TELLME_SHUTDOWN_GRACE')
        return self

    @field_validator('notify_email_reply_to_id', 'notify_sms_sender_id')
    @classmethod
    def _notify_uuid(cls, value: str) -> str:
        if value and not _is_uuid(value.strip()):
            raise ValueError('must be the id Notify shows for it (a UUID), or empty')
        return value.strip()

    @field_validator('notify_channels')
    @classmethod
    def _channels(cls, value: str) -> str:
        channels = [part.strip() for part in value.split(',') if part.strip()]
        unknown = sorted(set(channels) - {'email', 'sms', 'letter'})
        if unknown or not channels:
            raise ValueError('must list some of email, sms, letter, separated by commas')
        return ','.join(channels)

    @field_validator('notify_api_key')
    @classmethod
    def _notify_key_shape(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        # The official client slices the key: service id is key[-73:-37], secret key[-36:].
        if key and (len(key) < 74 or key[-37] != '-' or key[-74] != '-'):
            raise ValueError('must look like NAME-SERVICE_ID-SECRET, as copied from GOV.UK Notify')
        return value

    def log_format_for(self, command: str) -> str:
        """The log format `command` writes: TELLME_LOG_FORMAT, else json for the production processes, text for the
        rest (tellme dev and the commands an operator runs by hand)."""
        return self.log_format or ('json' if command in ('web', 'worker') else 'text')

    @property
    def vendor_dir(self) -> Path:
        """The front-end packages' folder: TELLME_ASSETS_DIR, else the one inside the installed package."""
        return Path(self.assets_dir).expanduser() if self.assets_dir else PACKAGE_VENDOR_DIR

    def council_name_for(self, lang: str) -> str:
        return self.council_name_cy if lang == 'cy' and self.council_name_cy else self.council_name

    def council_url_for(self, lang: str) -> str:
        return self.council_url_cy if lang == 'cy' and self.council_url_cy else self.council_url

    def council_contact_for(self, lang: str) -> list[str]:
        """The contact details' lines: new lines in the variable, or `\\n` (an env file holds one line)."""
        text = self.council_contact_cy if lang == 'cy' and self.council_contact_cy else self.council_contact
        return [line.strip() for line in text.replace('\\n', '\n').splitlines() if line.strip()]

    @property
    def council_district_codes(self) -> frozenset[str]:
        return frozenset(code for code in self.council_districts.split(',') if code)

    @property
    def arq_redis(self) -> RedisSettings:
        return RedisSettings.from_dsn(self.redis_url)

    @property
    def statement_cache_size(self) -> int:
        """asyncpg's prepared statement cache: off behind PgBouncer in transaction mode (a statement prepared on one
        server connection is unknown on the next), asyncpg's own 100 otherwise, unless set."""
        if self.database_statement_cache is not None:
            return self.database_statement_cache
        return 0 if self.database_pooler == 'pgbouncer' else 100

    @property
    def direct_database_url(self) -> str:
        """Where `tellme migrate` connects: its advisory lock and `create index concurrently` need one session."""
        return self.migrate_database_url or self.database_url

    @property
    def worker_stale_after(self) -> float:
        """Seconds after which a worker's heartbeat counts as stale: two beats missed, and half one more."""
        return self.worker_heartbeat_seconds * 2.5

    @property
    def notify_service_id(self) -> str:
        return self.notify_api_key.get_secret_value()[-73:-37]

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry the Secure flag whenever the service is reached over HTTPS (always, in production)."""
        return self.public_url.startswith('https://')

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def link_secrets(self) -> list[bytes]:
        """TELLME_SECRET_KEY may list several keys, newest first, comma-separated: links made with an older key
        keep working after rotation."""
        return [part.strip().encode() for part in self.secret_key.get_secret_value().split(',') if part.strip()]

    @property
    def notify_channel_list(self) -> tuple[str, ...]:
        return tuple(self.notify_channels.split(','))

    def notify_daily_limit(self, channel: str) -> int:
        return {'email': self.notify_daily_limit_email, 'sms': self.notify_daily_limit_sms,
                'letter': self.notify_daily_limit_letter}[channel]  # fmt: skip

    @property
    def notify_sends_per_second(self) -> float:
        return self.notify_rate_limit / 60 * self.notify_rate_fraction

    def missing_for(self, command: str) -> list[str]:
        """The variables a production command must be given (only `tellme dev` starts embedded servers)."""
        needs = {'migrate': ('database_url',)}.get(command, ('database_url', 'redis_url', 'secret_key'))
        present = {'database_url': bool(self.database_url), 'redis_url': bool(self.redis_url)}
        present['secret_key'] = bool(self.link_secrets)
        return [f'TELLME_{name.upper()}' for name in needs if not present[name]]

    # Geocoding (architecture decision 4): 'postcodes' answers from the offline postcodes table (filled by
    # `tellme postcodes import`); any geopy service name (e.g. 'nominatim') uses that online geocoder instead.
    geocoder: str = Field('postcodes', description="'postcodes' (offline) or a geopy service name, e.g. 'nominatim'")
    geocoder_user_agent: str = Field('', description='identifies this service to an online geocoder (required)')
    geocoder_options: dict[str, str] = Field(
        default_factory=dict, description='JSON of extra keyword arguments for the online geocoder, e.g. domain'
    )

    # Prometheus metrics (notifier/metrics.py): GET /metrics on the web app, and a port of each worker's own.
    metrics_token: SecretStr = Field(
        SecretStr(''),
        description='bearer token Prometheus sends to read /metrics (a secret); without it /metrics answers only '
        'requests from this host (loopback, no proxy in front)',
    )
    worker_metrics_port: str = Field(
        '9101',
        description='where each worker serves /metrics: a port, or a range such as 9101-9108 from which each worker '
        'process on the host takes the first free port; 0 turns it off',
    )
    worker_metrics_host: str = Field('127.0.0.1', description="the address workers' /metrics listens on")

    @field_validator('worker_metrics_port')
    @classmethod
    def _port_or_range(cls, value: str) -> str:
        first, dash, last = value.strip().partition('-')
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError('must be a port (9101), a range (9101-9108), or 0 for off') from None
        if not (0 <= low <= high <= 65535) or (low == 0 and high != 0) or high - low > 1000:
            raise ValueError('must be a port (9101), a range (9101-9108), or 0 for off')
        return f'{low}-{high}' if high != low else str(low)

    @property
    def worker_metrics_ports(self) -> range:
        """The ports a worker may serve /metrics on, in order (empty: off)."""
        first, _, last = self.worker_metrics_port.partition('-')
        low, high = int(first), int(last or first)
        return range(low, high + 1) if low else range(0)


COUNCIL_PAGES = ('privacy', 'accessibility', 'contact')
COUNCIL_PAGE_FILES = tuple(f'{page}{suffix}.md' for page in COUNCIL_PAGES for suffix in ('', '.cy'))
COUNCIL_PAGE_MAX_BYTES = 100_000
LOGO_MAX_BYTES = 1_000_000


def check_logo(path: Path) -> Path:
    """The council's logo file, checked once at start-up: a PNG or an SVG without scripts, at most 1 MB."""
    if not path.is_file():
        raise ValueError(f'{path}: no such file (give the path of an SVG or PNG file, or leave it empty)')
    if path.suffix.lower() not in ('.svg', '.png'):
        raise ValueError(f'{path}: must be an .svg or .png file')
    body = path.read_bytes()
    if len(body) > LOGO_MAX_BYTES:
        raise ValueError(f'{path}: is {len(body):,} bytes; a logo must be at most 1 MB')
    if path.suffix.lower() == '.png' and not body.startswith(b'\x89PNG\r\n\x1a\n'):
        raise ValueError(f'{path}: is not a PNG image')
    if path.suffix.lower() == '.svg':
        text = body.decode('utf-8', errors='replace').lower()
        if '<svg' not in text:
            raise ValueError(f'{path}: is not an SVG image (no <svg> element)')
        if '<script' in text or 'javascript:' in text or re.search(r'\son[a-z]+\s*=', text):
            raise ValueError(f'{path}: contains a script; a logo must be a picture only')
    return path.resolve()


def check_pages_dir(folder: Path) -> Path:
    """The council's pages folder, checked once at start-up: only the pages we show, each UTF-8, at most 100 KB."""
    if not folder.is_dir():
        raise ValueError(f'{folder}: no such folder')
    for path in sorted(folder.glob('*.md')):
        if path.name not in COUNCIL_PAGE_FILES:
            raise ValueError(f'{path.name}: not a page Tell Me shows; the pages are {", ".join(COUNCIL_PAGE_FILES)}')
        if path.stat().st_size > COUNCIL_PAGE_MAX_BYTES:
            raise ValueError(f'{path.name}: is larger than 100 KB')
        try:
            path.read_text(encoding='utf-8')
        except UnicodeDecodeError:
            raise ValueError(f'{path.name}: is not UTF-8 text') from None
    return folder.resolve()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

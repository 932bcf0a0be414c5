"""Settings: the only place Tell Me reads its environment.

One `Settings` object is built by the CLI and passed explicitly to the web app, the worker and the
migration runner. There is deliberately no module-level instance.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from arq.connections import RedisSettings
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NOTIFY_PRODUCTION_URL = 'https://api.notifications.service.gov.uk'


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
    public_url: str = 'http://localhost:8080'
    secret_key: SecretStr = SecretStr('')
    council_name: str = Field('Your council', description='shown in the pages and messages: whose service this is')
    council_url: str = Field('', description="the council's own website, linked from every page's footer")
    proxy_hops: int = Field(
        0,
        ge=0,
        le=5,
        description='reverse proxies in front (load balancer, CDN): clients are read from X-Forwarded-For',
    )
    host: str = '127.0.0.1'
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path('.tellme')
    notify_sim_port: int = Field(8081, ge=0, le=65535, description='port of the embedded simulator in tellme dev')
    log_level: str = 'INFO'
    demo: bool = Field(True, description='tellme dev only: sign up demo residents and publish a demo event a minute')
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

    @field_validator('database_url')
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

    @field_validator('oidc_issuer')
    @classmethod
    def _oidc_issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.hostname in ('localhost', '127.0.0.1', '::1')
        if value and (parts.scheme != 'https' and not (parts.scheme == 'http' and local) or not parts.netloc):
            raise ValueError("must be an https:// URL (the issuer named in the provider's discovery document)")
        return value.rstrip('/')

    @model_validator(mode='after')
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret.get_secret_value()):
            raise ValueError('TELLME_OIDC_ISSUER needs TELLME_OIDC_CLIENT_ID and TELLME_OIDC_CLIENT_SECRET as well')
        return self

    @field_validator('notify_api_key')
    @classmethod
    def _notify_key_shape(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        # The official client slices the key: service id is key[-73:-37], secret key[-36:].
        if key and (len(key) < 74 or key[-37] != '-' or key[-74] != '-'):
            raise ValueError('must look like NAME-SERVICE_ID-SECRET, as copied from GOV.UK Notify')
        return value

    @property
    def arq_redis(self) -> RedisSettings:
        return RedisSettings.from_dsn(self.redis_url)

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
    def notify_sends_per_second(self) -> float:
        return self.notify_rate_limit / 60 * self.notify_rate_fraction

    def missing_for(self, command: str) -> list[str]:
        """The variables a production command must be given (only `tellme dev` starts embedded servers)."""
        needs = {
            'migrate': ('database_url',),
            'check-worker': ('redis_url',),
        }.get(command, ('database_url', 'redis_url', 'secret_key'))
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

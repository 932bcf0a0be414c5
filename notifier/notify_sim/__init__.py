"""A GOV.UK Notify-compatible simulator, faithful to the real API's behaviour (see docs/notify-simulator.md)."""

from .rules.keys import ApiKey, ConfigError, Service, Template, generate_api_key, load_keys, load_templates
from .runner import SimulatorThread
from .server import serve
from .simulator import Simulator

__all__ = [
    'ApiKey',
    'ConfigError',
    'Service',
    'Simulator',
    'SimulatorThread',
    'Template',
    'generate_api_key',
    'load_keys',
    'load_templates',
    'serve',
]

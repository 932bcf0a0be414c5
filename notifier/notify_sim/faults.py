"""Fault injection: rules matched on the recipient, or a global "next N requests" switch.

Actions: '400', '403', '429-rate', '429-daily', '500', '503' answer at once with that error (no token spent);
'slow' waits `delay` seconds (default 35, past the official client's 30 s timeout) and then handles the request
normally; 'drop' handles the request normally (the notification IS stored) and then, after `delay` seconds, drops
the connection without answering; 'status' handles it normally but ends the status timer on `status`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

ERROR_ACTIONS = frozenset({'400', '403', '429-rate', '429-daily', '500', '503'})
ACTIONS = ERROR_ACTIONS | {'slow', 'drop', 'status'}
MATCH_FIELDS = ('email_local_part', 'email_local_suffix', 'phone_suffix', 'reference')


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    action: str
    delay: float | None = None
    error: str | None = None
    message: str | None = None
    status: str | None = None
    match: dict[str, str] = field(default_factory=dict)
    remaining: int | None = None  # None: forever
    all_endpoints: bool = False  # global switch only: also GETs and template endpoints

    @classmethod
    def from_json(cls, data: Any, *, global_switch: bool = False) -> Fault:
        if not isinstance(data, dict) or data.get('action') not in ACTIONS:
            raise FaultSpecError(f'action must be one of {", ".join(sorted(ACTIONS))}')
        match = data.get('match') or {}
        if not global_switch and (not isinstance(match, dict) or not match or set(match) - set(MATCH_FIELDS)):
            raise FaultSpecError(f'match must be an object using {", ".join(MATCH_FIELDS)}')
        if data['action'] == 'status' and not data.get('status'):
            raise FaultSpecError('action "status" needs "status", e.g. "permanent-failure"')
        count = data.get('count', data.get('times'))
        return cls(
            action=data['action'],
            delay=float(data['delay']) if data.get('delay') is not None else None,
            error=data.get('error'),
            message=data.get('message'),
            status=data.get('status'),
            match={k: str(v) for k, v in match.items()},
            remaining=int(count) if count is not None else (1 if global_switch else None),
            all_endpoints=bool(data.get('all_endpoints', False)),
        )

    def matches(self, body: dict[str, Any]) -> bool:
        email = str(body.get('email_address') or '')
        phone = ''.join(ch for ch in str(body.get('phone_number') or '') if ch.isdigit())
        local = email.rsplit('@', 1)[0].lower() if '@' in email else ''
        checks = {
            'email_local_part': lambda v: bool(local) and local == v.lower(),
            'email_local_suffix': lambda v: bool(local) and local.endswith(v.lower()),
            'phone_suffix': lambda v: bool(phone) and phone.endswith(v),
            'reference': lambda v: body.get('reference') == v,
        }
        return all(checks[name](value) for name, value in self.match.items())


class FaultTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Fault] = []
        self.next: Fault | None = None

    def pick(self, raw_body: bytes, *, is_send: bool) -> Fault | None:
        with self._lock:
            switch = self.next
            if switch is not None and (is_send or switch.all_endpoints):
                return self._spend(switch, is_global=True)
            if not is_send or not self.rules:
                return None
            try:
                body = json.loads(raw_body or b'{}')
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            for rule in self.rules:
                if rule.matches(body):
                    return self._spend(rule, is_global=False)
        return None

    def _spend(self, fault: Fault, *, is_global: bool) -> Fault:
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                if is_global:
                    self.next = None
                else:
                    self.rules.remove(fault)
        return fault

    def add_rule(self, fault: Fault) -> None:
        with self._lock:
            self.rules.append(fault)

    def set_next(self, fault: Fault | None) -> None:
        with self._lock:
            self.next = fault

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.next = None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {'rules': [asdict(r) for r in self.rules], 'next': asdict(self.next) if self.next else None}

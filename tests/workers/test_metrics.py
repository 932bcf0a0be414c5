"""Each worker's own /metrics port (workers/metrics.py): several workers on one host share a range, a busy port turns
metrics off rather than the worker, and the port answers only this host or the bearer token."""

from __future__ import annotations

import socket

import aiohttp
import asyncpg
import pytest

from notifier.settings import Settings
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.metrics import scrape_url
from workers import metrics as worker_metrics

TOKEN = 'prometheus-reads-this-' + 'w' * 24


def free_pair() -> int:
    """A port p with p + 1 free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = int(s.getsockname()[1])
        if port < 65535 and _free(port + 1):
            return port
    raise AssertionError('no two free ports in a row')


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def with_port(services: Services, port: str, **overrides: object) -> Settings:
    return settings_for(services, worker_metrics_port=port, **overrides)


async def test_workers_on_one_host_take_the_next_free_port_of_the_range(services: Services, pg: asyncpg.Pool) -> None:
    port = free_pair()
    settings = with_port(services, f'{port}-{port + 1}')
    first = await worker_metrics.serve(settings, pg, None)
    second = await worker_metrics.serve(settings, pg, None)
    third = await worker_metrics.serve(settings, pg, None)  # the range is used up: metrics off, the worker goes on
    try:
        assert first is not None and second is not None and third is None
        assert {first.port, second.port} == {port, port + 1}
        for served in (first, second):
            scraped = await scrape_url(f'http://127.0.0.1:{served.port}/metrics')
            assert 'tellme_outbox_messages' in scraped.families
            assert 'tellme_notify_daily_messages' not in scraped.families  # no budget given: left out
    finally:
        for served in (first, second):
            if served is not None:
                await served.stop()
    assert await worker_metrics.serve(with_port(services, '0'), pg, None) is None


@pytest.mark.parametrize('token', ['', TOKEN])
async def test_a_workers_port_answers_this_host_or_the_token(services: Services, pg: asyncpg.Pool, token: str) -> None:
    port = free_pair()
    served = await worker_metrics.serve(with_port(services, str(port), metrics_token=token), pg, None)
    assert served is not None
    url = f'http://127.0.0.1:{port}/metrics'
    forwarded = {'X-Forwarded-For': '203.0.113.9'}  # as if a proxy on this host passed a visitor on
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as local:
                assert local.status == 200
            async with http.get(url, headers=forwarded) as passed_on:
                assert passed_on.status == (401 if token else 403)
            async with http.get(url, headers=forwarded | {'Authorization': f'Bearer {TOKEN}'}) as with_token:
                assert with_token.status == (200 if token else 403)
            async with http.get(f'http://127.0.0.1:{port}/healthz') as other:
                assert other.status == 404  # the port serves the metrics and nothing else
    finally:
        await served.stop()

"""`tellme …` as an operator runs it: a subprocess (`python -m notifier …`) on the suite's database and Redis
(this module holds no tests)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Services

SECRET_KEY = 'sources-cli-test-secret-key-0123456789abcdef'


async def tellme(services: Services, *args: str, **env_vars: str) -> tuple[int, str, str]:
    """Run `tellme ARGS`: exit code, output, errors. Our TELLME_* variables are not passed on; the database, Redis
    and TELLME_SECRET_KEY are set, unless `env_vars` say otherwise (an empty one unsets it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')}
    env.update(TELLME_DATABASE_URL=services.database_url, TELLME_REDIS_URL=services.redis_url)
    env.update({'TELLME_SECRET_KEY': SECRET_KEY, **env_vars})
    process = await asyncio.create_subprocess_exec(
        sys.executable, '-m', 'notifier', *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)  # a busy CI machine is slow to start one
    return process.returncode or 0, out.decode(), err.decode()

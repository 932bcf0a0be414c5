"""Each arq job's id on every line logged while it runs (notifier/logs.py), arq's own lines included.

arq runs every job in a task of its own and calls `on_job_start` in that task, before its "→ job(…)" line: the id
bound here is in that task's context and in the job function's (a task started from it), and goes with the task.
Our job ids name the job: `cron:sweep:1764…` for a cron run, `deliver:<notification id>` for a message sent ahead of
the queue (notifier/outbox/queue.py)."""

from __future__ import annotations

from typing import Any

from notifier import logs


async def job_started(ctx: dict[str, Any]) -> None:
    logs.bind(job=ctx.get('job_id'))

"""What the tests share (this package holds no tests): each helper and fixture is written once, here.

* `factories`: residents, contact points, subscriptions, events and the sample postcodes, through the product's own
  queries.
* `app`: the one settings factory (`settings_for`); `fixtures`: the fixtures every folder may use (`settings`,
  `client`, `browser`, `desk`, …), registered by tests/conftest.py.
* `pages`: reading a page (`csrf_of`, `text_of`, `section`) and posting its form as a browser does (`post_form`).
* `staff`: staff signed in through the real sign-in form; `api`: the API as a system calls it, with tokens.
* `notify`: the Notify simulator and outbox rows; `worker`: an arq worker in a task of the test's event loop;
  `waiting`: bounded waits.
* `feeds`: a real HTTP feed server and the "served over HTTP, polled twice" helper the adapter tests share.
* `journey`, `manage`, `bulletins`, `cases`: each audience's pages (residents signing up and managing, comms,
  case officers).
* `cli`: `tellme …` run as an operator runs it.
* `logs`: logging captured as `tellme web` and `tellme worker` write it (JSON lines, the context, the safety net).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
FIXTURES = ROOT / 'tests' / 'fixtures'  # sample feeds, registers and postcodes: tests/fixtures/<kind>/README.md

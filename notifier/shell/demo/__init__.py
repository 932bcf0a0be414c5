"""The demo `tellme dev` runs (TELLME_DEMO=false turns it off), so a newcomer can follow every journey in the README
on a fresh clone and watch the messages arrive in the simulator's outbox.

Everything in it is made up and says so: example.com addresses and a 07700 900xxx number, "Demo Street", made-up
UPRNs, titles and notes that start "Demo:". It goes through the same paths as real data: an LLPG import, sources
the workers poll, subscriptions that fan out, reminders queued by the same code as the cron's.

- `residents`: five demo residents — three near a postcode, one with bin reminders, one who reported a case;
- `bins`: the demo addresses at M32 0AH and their bin calendar (weekly refuse, fortnightly recycling, one moved);
- `cases`: the demo case system's Open311 export with DEMO-1001, moved on a stage every few minutes;
- `sources`: registering those feeds as `tellme sources add` would, audited as the demo's choice;
- `seed`: putting it all in place once (a second start adds nothing), and the first polls;
- `events`: a made-up planning or licensing event a minute near the demo residents.
"""

from notifier.shell.demo.cases import advance as advance_case
from notifier.shell.demo.events import DemoEvents
from notifier.shell.demo.seed import Seeded, first_polls, seed

__all__ = ['DemoEvents', 'Seeded', 'advance_case', 'first_polls', 'seed']

#!/bin/sh
# The test suite at the hours and dates that catch a test reading the wall clock: 23:50 and 00:10 London in winter;
# 00:10 BST on the Monday after the clocks go forward in March (London's date is a day ahead of UTC's, and yesterday
# was an hour short); 23:50 BST on the Saturday night the clocks go back in October (tomorrow is an hour long).
# Needs Debian's faketime.
#
#   tests/at_hours.sh                                  # the whole suite at each of the four instants
#   tests/at_hours.sh -q tests/subscriptions/matching/test_reminders.py
#   AT_HOURS='2027-06-01T11:59:30Z' tests/at_hours.sh -q -x
#
# Each run starts its clock at the instant and lets it run. The clock is set as an offset from the real one, not
# as a start time (faketime -f '@…'), so every process the suite starts (PostgreSQL, Redis, workers, Chromium)
# reads the same fake time; with '@' each process would start its own clock at the instant when it started.
set -u
cd "$(dirname "$0")/.." || exit 2
command -v faketime >/dev/null 2>&1 || { echo 'at_hours.sh needs faketime: apt-get install faketime' >&2; exit 2; }
PYTHON=${PYTHON:-.venv/bin/python}
AT_HOURS=${AT_HOURS:-2026-12-06T23:50:00Z 2026-12-07T00:10:00Z 2027-03-28T23:10:00Z 2026-10-24T22:50:00Z}
[ $# -gt 0 ] || set -- -q -p no:cacheprovider
failed=''
for instant in $AT_HOURS; do
    offset=$(($(date -u -d "$instant" +%s) - $(date -u +%s)))
    [ "$offset" -ge 0 ] && offset="+$offset"
    echo "=== $(TZ=Europe/London date -d "$instant" '+%a %-d %b %Y %H:%M %Z') in London ($instant)"
    faketime -f "$offset" "$PYTHON" -m pytest "$@" || failed="$failed $instant"
done
[ -z "$failed" ] || { echo "=== failed at:$failed" >&2; exit 1; }
echo '=== passed at every instant'

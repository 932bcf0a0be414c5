"""Bin schedule news worked out from two versions' dates (sources/events/schedules.py), on the shapes feeds publish."""

from __future__ import annotations

from datetime import date

from sources.events.schedules import schedule_changes

TODAY = date(2025, 5, 20)  # a Tuesday


def _news(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [sentence for _, sentence in schedule_changes(before, after, TODAY)]


def test_a_feed_listing_only_the_next_date_per_bin_still_shows_a_move() -> None:
    assert _news({'Recycling': ['2025-05-26']}, {'Recycling': ['2025-05-27']}) == [
        'Recycling moved from Mon 26 May to Tue 27 May.'
    ]


def test_the_window_rolling_forward_and_collected_dates_dropping_out_are_not_news() -> None:
    before = {'Refuse': ['2025-05-13', '2025-05-20', '2025-05-27', '2025-06-03']}
    after = {'Refuse': ['2025-05-27', '2025-06-03', '2025-06-10', '2025-06-17']}  # 20 May is today: not compared
    assert _news(before, after) == []


def test_a_collection_dropped_without_a_replacement_and_an_extra_one_are_news() -> None:
    before = {'Refuse': ['2025-05-27', '2025-06-10', '2025-06-24']}
    after = {'Refuse': ['2025-06-10', '2025-06-17', '2025-06-24', '2025-07-08']}
    assert _news(before, after) == [
        'Refuse: no collection on Tue 27 May.',
        'Refuse: extra collection on Tue 17 Jun.',
    ]


def test_a_date_beyond_the_new_window_is_not_cancelled() -> None:
    before = {'Refuse': ['2025-05-27', '2025-06-03', '2025-06-10']}
    after = {'Refuse': ['2025-05-27', '2025-06-03']}  # this poll's window is shorter
    assert _news(before, after) == []


def test_unreadable_stored_dates_are_skipped_not_fatal() -> None:
    assert _news({'Refuse': ['not a date', '2025-05-27']}, {'Refuse': ['2025-05-27']}) == []
    assert _news(None, {'Refuse': ['2025-05-27']}) == ['Refuse is a new collection (first collection Tue 27 May).']

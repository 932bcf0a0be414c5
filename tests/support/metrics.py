"""Reading what a /metrics endpoint answers, for the metrics tests (this module holds no tests)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


class Scraped:
    """One scrape: its families by name, and each sample's value by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels (0 when there is none yet: a counter not yet touched)."""
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == name and dict(sample.labels) == labels:
                    return float(sample.value)
        return 0.0

    def total(self, name: str, **labels: str) -> float:
        """The sum of every sample `name` whose labels include these."""
        return sum(
            float(sample.value)
            for family in self.families.values()
            for sample in family.samples
            if sample.name == name and _within(labels, sample.labels)
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {
            sample.labels[label]
            for family in self.families.values()
            for sample in family.samples
            if sample.name == name and label in sample.labels
        }


def _within(wanted: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


async def scrape_url(url: str, token: str | None = None) -> Scraped:
    headers = {'Authorization': f'Bearer {token}'} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as answer:
        assert answer.status == 200, await answer.text()
        return Scraped(await answer.text())

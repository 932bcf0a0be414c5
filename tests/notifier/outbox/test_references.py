"""The reference each send carries to Notify leads back to its row and says which send it was."""

from __future__ import annotations

import uuid

import pytest

from notifier.outbox import references

ROW = uuid.UUID('5b1c0d2e-3f4a-4b5c-8d6e-7f8091a2b3c4')


def test_the_first_send_is_the_row_id_and_each_resend_numbers_itself() -> None:
    assert [references.for_send(ROW, n) for n in range(3)] == [str(ROW), f'{ROW}.2', f'{ROW}.3']
    assert [references.parse(references.for_send(ROW, n)) for n in range(3)] == [(ROW, 0), (ROW, 1), (ROW, 2)]


@pytest.mark.parametrize('reference', [None, '', 'not-a-uuid', f'{ROW}.', f'{ROW}.1', f'{ROW}.02', f'{ROW}.x',
                                       f'{ROW}.2.3', f'{ROW}.99999', f'{ROW}.²'])  # fmt: skip
def test_anything_else_leads_nowhere(reference: str | None) -> None:
    assert references.parse(reference) is None

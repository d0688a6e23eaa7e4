"""Fixtures of the platform tests: the fakes, each in a background thread."""

from __future__ import annotations

import pytest

from tests.fakes.tiktok import run_fake_tiktok


@pytest.fixture
def tiktok():
    with run_fake_tiktok() as server:
        yield server


@pytest.fixture
def youtube():
    from tests.fakes.youtube import run_fake_youtube

    with run_fake_youtube() as server:
        yield server


@pytest.fixture
def cryptopay():
    from tests.fakes.cryptopay import run_fake_cryptopay

    with run_fake_cryptopay() as server:
        yield server

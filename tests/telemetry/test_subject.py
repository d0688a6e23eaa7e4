"""The subject of a piece of work: only the allowed keys, only int and str values, shared read-only."""

from __future__ import annotations

from collections import UserDict
from types import MappingProxyType

from opentelemetry import context as otel_context

from zenith.domain.links import Platform
from zenith.telemetry.subject import clean_subject, subject_of, with_subject


def test_clean_subject_keeps_the_allowed_keys_with_int_or_str_values():
    raw = {
        "zenith.video_id": 7,
        "zenith.platform": Platform.YOUTUBE,  # a str subclass is a str
        "zenith.payout_id": True,  # a bool is not an id
        "zenith.views": 100,  # not a subject key
    }
    assert clean_subject(raw) == {"zenith.video_id": 7, "zenith.platform": "youtube"}
    assert clean_subject({"zenith.video_id": 7.0, "zenith.platform": None, "zenith.payout_id": [1]}) == {}


def test_clean_subject_reads_any_mapping_and_nothing_else():
    allowed = {"zenith.video_id": 7, "zenith.platform": "tiktok"}
    assert clean_subject(MappingProxyType(allowed)) == allowed
    assert clean_subject(UserDict(allowed)) == allowed
    assert clean_subject([("zenith.video_id", 7)]) == {}
    assert clean_subject("zenith.video_id") == {}
    assert clean_subject(None) == {}


def test_with_subject_adds_what_is_new_and_keeps_the_context_otherwise():
    base = otel_context.Context()
    tagged = with_subject({"zenith.video_id": 7}, base)
    assert dict(subject_of(tagged)) == {"zenith.video_id": 7}
    assert with_subject({"zenith.video_id": 7}, tagged) is tagged  # already the subject
    assert with_subject({"zenith.views": 5, "zenith.payout_id": False}, tagged) is tagged  # nothing allowed
    assert with_subject({}, base) is base
    both = with_subject({"zenith.platform": "youtube"}, tagged)
    assert dict(subject_of(both)) == {"zenith.video_id": 7, "zenith.platform": "youtube"}
    assert dict(subject_of(with_subject({"zenith.video_id": 8}, both)))["zenith.video_id"] == 8
    assert isinstance(subject_of(both), MappingProxyType)  # shared read-only by spans and messages

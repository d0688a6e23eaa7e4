"""API keys: their shape, their hash, and what each scope allows."""

from __future__ import annotations

import pytest

from zenith.domain.api_keys import InvalidKey, Scope, hash_key, key_id_of, new_key


def test_a_new_key_has_a_public_id_and_a_long_secret():
    key = new_key()
    prefix, key_id, secret = key.split("_", 2)
    assert prefix == "zk" and key_id_of(key) == key_id and len(key_id) == 8 and len(secret) == 43
    assert len({new_key() for _ in range(200)}) == 200


def test_the_hash_is_stable_and_hides_the_key():
    key = new_key()
    assert hash_key(key) == hash_key(key) and len(hash_key(key)) == 64
    assert key not in hash_key(key) and hash_key(key) != hash_key(new_key())


@pytest.mark.parametrize(
    "text",
    ["", "zk_", "zk_abcdefgh", "zk_abcdefgh_short", "xx_abcdefgh_" + "a" * 43, "zk_abc'--gh_" + "a" * 43, None, 42],
)
def test_anything_not_shaped_like_a_key_is_refused(text):
    with pytest.raises(InvalidKey):
        hash_key(text)


def test_each_scope_includes_the_ones_before_it():
    assert Scope.ADMIN.allows(Scope.SUBMIT) and Scope.ADMIN.allows(Scope.READ) and Scope.SUBMIT.allows(Scope.READ)
    assert (
        not Scope.READ.allows(Scope.SUBMIT)
        and not Scope.SUBMIT.allows(Scope.ADMIN)
        and not Scope.READ.allows(Scope.ADMIN)
    )
    assert all(scope.allows(scope) for scope in Scope)

"""A worker imports only the actor modules of its queues; aiogram only with notifications."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from tests.actors.conftest import REPO_ROOT
from zenith.actors.registry import ACTOR_MODULES, QUEUE_MODULES, UnknownQueue, modules_for_queues
from zenith.messaging.contract import QUEUES, ROUTES


def test_each_module_holds_exactly_the_actors_of_its_queue():
    for queue, module in QUEUE_MODULES.items():
        routes = [spec.route for spec in importlib.import_module(module).ACTORS]
        assert routes and {route.queue_name for route in routes} == {queue}
    registered = {spec.route for module in ACTOR_MODULES for spec in importlib.import_module(module).ACTORS}
    assert registered == set(ROUTES)


def test_modules_for_queues():
    assert modules_for_queues(None) == ACTOR_MODULES == modules_for_queues([]) == modules_for_queues(list(QUEUES))
    assert modules_for_queues(["parsing"]) == ("zenith.actors.parsing",)
    assert modules_for_queues(["notifications", "submission"]) == (
        "zenith.actors.submission",
        "zenith.actors.notifications",
    )
    with pytest.raises(UnknownQueue, match="pasring"):
        modules_for_queues(["pasring"])


PROBE = """
import json, sys
from dramatiq.brokers.stub import StubBroker
from zenith.actors.worker import build_worker
from zenith.config import load_settings
queues = json.loads(sys.argv[1])
worker = build_worker(load_settings({}), queues=queues or None, broker=StubBroker())
print(json.dumps({"aiogram": "aiogram" in sys.modules, "actors": sorted(worker.broker.get_declared_actors()),
                  "modules": sorted(m for m in sys.modules if m.startswith("zenith.actors."))}))
"""


def _probe(queues: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(queues)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("queue", ["submission", "parsing", "rates", "payouts"])
def test_a_worker_of_one_queue_loads_its_actors_only_and_no_aiogram(queue):
    seen = _probe([queue])
    assert seen["actors"] == sorted(r.actor_name for r in ROUTES if r.queue_name == queue)
    assert not seen["aiogram"]
    assert "zenith.actors.notifications" not in seen["modules"]


def test_the_notifications_worker_loads_aiogram_only_when_it_first_sends():
    seen = _probe(["notifications"])
    assert seen["actors"] == ["broadcast", "notify"]
    assert not seen["aiogram"]  # imported by Runtime.bot() on the first notification


def test_a_worker_of_every_queue_registers_every_actor():
    assert _probe([])["actors"] == sorted(r.actor_name for r in ROUTES)

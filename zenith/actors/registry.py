"""Which actor functions exist and how they are bound to a broker.

Each actor module lists its actors in ``ACTORS`` as `ActorSpec`s; the worker (or a
test) binds them all to one broker with `register_actors`. Binding is explicit rather
than a module-level ``@dramatiq.actor`` so the same functions can be bound to a fresh
broker per test, and importing an actor module has no side effects.

A worker imports only the modules of the queues it consumes (`modules_for_queues`):
start-up time is what a killed worker's pool is down for, and the notifications
module is the one that needs aiogram.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import dramatiq

from zenith.messaging.contract import NOTIFICATIONS, PARSING, PAYOUTS, QUEUES, RATES, SUBMISSION, Route

# The module defining the actors of each queue (every actor of a module is on its queue;
# tests/actors/test_registry.py checks that against the modules' ACTORS).
QUEUE_MODULES: dict[str, str] = {
    SUBMISSION: "zenith.actors.submission",
    PARSING: "zenith.actors.parsing",
    RATES: "zenith.actors.rates",
    PAYOUTS: "zenith.actors.payouts",
    NOTIFICATIONS: "zenith.actors.notifications",
}
# Every module that defines actors: what a worker of every queue imports.
ACTOR_MODULES = tuple(QUEUE_MODULES[queue] for queue in QUEUES)


class UnknownQueue(ValueError):
    """A queue name that is not in the message contract."""


def modules_for_queues(queues: Iterable[str] | None) -> tuple[str, ...]:
    """The actor modules a worker consuming ``queues`` must import (None or empty: all).

    Raises `UnknownQueue` for a name that is not in the contract.
    """
    chosen = set(queues or ())
    unknown = chosen - set(QUEUES)
    if unknown:
        raise UnknownQueue(f"unknown queue(s) {sorted(unknown)}; known: {list(QUEUES)}")
    if not chosen:
        return ACTOR_MODULES
    return tuple(QUEUE_MODULES[queue] for queue in QUEUES if queue in chosen)


@dataclass(frozen=True)
class ActorSpec:
    """One actor: its route (name + queue from the contract), function and options.

    Parameters:
      route: the contract's `Route` (actor name and queue).
      fn: the function (usually ``async def``) run for each message.
      options: Dramatiq actor options (max_retries, time_limit, throws, ...).
    """

    route: Route
    fn: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)


def actor_specs(modules: Iterable[str] = ACTOR_MODULES) -> list[ActorSpec]:
    """Import the actor modules and collect their specs."""
    specs: list[ActorSpec] = []
    for name in modules:
        specs.extend(importlib.import_module(name).ACTORS)
    return specs


def register_actors(broker: dramatiq.Broker, *, modules: Iterable[str] = ACTOR_MODULES) -> dict[str, dramatiq.Actor]:
    """Bind every actor to ``broker``; returns them by actor name.

    Also adds Dramatiq's CurrentMessage middleware (see `zenith.actors.attempts`), and
    wraps each function so a passing platform failure is retried without an ERROR
    traceback (see `zenith.actors.passing_failures`).

    Parameters:
      broker: the broker to register on (its queues get declared).
      modules: the actor modules to import (default: all of them).
    """
    from zenith.actors.attempts import ensure_current_message
    from zenith.actors.passing_failures import retried_quietly

    ensure_current_message(broker)  # actors ask whether a delivery is their last try
    bound: dict[str, dramatiq.Actor] = {}
    for spec in actor_specs(modules):
        bound[spec.route.actor_name] = dramatiq.actor(
            broker=broker,
            actor_name=spec.route.actor_name,
            queue_name=spec.route.queue_name,
            **dict(spec.options),
        )(retried_quietly(spec.route.actor_name, spec.fn))  # a platform 5xx/429 is no ERROR
    return bound

"""Which actor functions exist and how they are bound to a broker.

Each actor module lists its actors in ``ACTORS`` as `ActorSpec`s; the worker (or a
test) binds them all to one broker with `register_actors`. Binding is explicit rather
than a module-level ``@dramatiq.actor`` so the same functions can be bound to a fresh
broker per test, and importing an actor module has no side effects.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import dramatiq

from zenith.messaging.contract import Route

# Every module that defines actors; the worker imports them all.
ACTOR_MODULES = (
    "zenith.actors.submission",
    "zenith.actors.parsing",
    "zenith.actors.rates",
    "zenith.actors.payouts",
    "zenith.actors.notifications",
)


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

    Also adds Dramatiq's CurrentMessage middleware (see `zenith.actors.attempts`).

    Parameters:
      broker: the broker to register on (its queues get declared).
      modules: the actor modules to import (default: all of them).
    """
    from zenith.actors.attempts import ensure_current_message

    ensure_current_message(broker)  # actors ask whether a delivery is their last try
    bound: dict[str, dramatiq.Actor] = {}
    for spec in actor_specs(modules):
        bound[spec.route.actor_name] = dramatiq.actor(
            spec.fn,
            broker=broker,
            actor_name=spec.route.actor_name,
            queue_name=spec.route.queue_name,
            **dict(spec.options),
        )
    return bound

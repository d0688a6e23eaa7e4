"""Pure business rules of ZenithMedia: no I/O, no settings, no other project imports.

Modules: links, money, tiers, earnings, schedule, payouts, videos, users, verification; their public
API is described in docs/domain.md.
"""

"""How processes talk: the broker and the message contract.

Lives outside `actors` so the bot and the web process can send messages without
importing any actor code (DESIGN: nothing imports `actors` but the CLI and supervisor).
"""

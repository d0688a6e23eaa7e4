"""The HTTP API under /api/v1: partners' and admin tools' view of creators, videos and queues."""

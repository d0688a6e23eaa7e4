"""ZenithMedia: pays content creators for the views of their TikTok and YouTube videos."""

__version__ = "0.1.0"

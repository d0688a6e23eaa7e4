"""The README documents every setting and the commands it promises."""

from pathlib import Path

from zenith.cli import COMMANDS
from zenith.config import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table():
    missing = [s.env for s in SETTINGS if f"| `{s.env}` |" not in README]
    assert not missing, f"README settings table lacks {missing}; regenerate it with `zenith settings`"


def test_every_command_is_in_the_readme():
    missing = [name for name in COMMANDS if f"zenith {name}" not in README]
    assert not missing, f"README does not mention {missing}"

"""Rewrite `versions/0001_initial.py` from the models (before the first release only).

Until the exchange has a release that someone runs, the initial migration is the
models' image: run `python migrations/rebuild_initial.py` after changing a model.
Hand-written migrations (triggers, full-text indexes) stay as they are and keep
following it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from exchange.config import Settings
from exchange.schema import alembic_config

VERSIONS = Path(__file__).resolve().parent / "versions"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        parked = Path(scratch) / "parked"
        parked.mkdir()
        initial = VERSIONS / "0001_initial.py"
        initial.unlink(missing_ok=True)
        for path in VERSIONS.glob("*.py"):
            shutil.move(path, parked / path.name)
        try:
            settings = Settings(data_dir=Path(scratch))
            command.revision(
                alembic_config(settings),
                message="schools, members, partnerships, resources and the rules",
                autogenerate=True,
                rev_id="0001",
            )
            (generated,) = VERSIONS.glob("0001_*.py")
            generated.rename(initial)
        finally:
            for path in parked.iterdir():
                shutil.move(path, VERSIONS / path.name)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(initial)], check=False)


if __name__ == "__main__":
    main()

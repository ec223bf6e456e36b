"""``python -m recbole_diger.benchmark.readme``: regenerate README.md's results block from results/."""
from __future__ import annotations

import argparse
from pathlib import Path

from .table import update_readme

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", default=str(PROJECT_ROOT / "results"))
    p.add_argument("--readme", default=str(PROJECT_ROOT / "README.md"))
    args = p.parse_args()
    update_readme(Path(args.results), Path(args.readme))
    print(f"updated {args.readme} from {args.results}")


if __name__ == "__main__":
    main()

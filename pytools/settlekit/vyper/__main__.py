"""``python -m settlekit.vyper``: print the search path that makes ``from settlekit.vyper import X`` resolve.

``python -m settlekit.vyper --sync DIR`` copies the modules from ``DIR`` (``contracts/modules`` in settlekit's own
repository) over the packaged copies; ``--check DIR`` exits 1 when a copy differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from settlekit.vyper import search_path, stale_copies, sync_from


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] in ("--sync", "--check"):
        source = Path(argv[1])
        if argv[0] == "--sync":
            for name in sync_from(source):
                print(f"updated settlekit/vyper/{name}.vy")
            return 0
        stale = stale_copies(source)
        if stale:
            print(f"error: settlekit/vyper copies differ from {source}: {', '.join(stale)}", file=sys.stderr)
            print("fix: run `make vyper-lib` and commit the copies", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m settlekit.vyper [--sync DIR | --check DIR]", file=sys.stderr)
        return 2
    print(search_path())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Train a zstd dictionary for stored objects: ``python -m bench.dictionary OUT ID FOLDER...``.

:mod:`hub.store.dictionary` says which folders the shipped one was trained on; the training is repeatable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hub.store.dictionary import train


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: python -m bench.dictionary OUT ID FOLDER...", file=sys.stderr)
        return 2
    out, dict_id, folders = Path(argv[0]), int(argv[1], 0), [Path(a) for a in argv[2:]]
    out.write_bytes(train(folders, dict_id))
    print(f"{out}: {out.stat().st_size} bytes, id {dict_id:#x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""docs/builtin_photos.png: pictures of the built-in shapes of a photo cache made with
``shapespace data photos ... --builtin N``, one row per class.

Row ``c`` shows picture ``--view`` of the first ``--per-class`` built-in shapes of class
``c`` (``builtin:<class>/<index>`` in the cache's description), as rendered (128 px for the
README's caches), then reduced to 256 colours to keep the file small.

    python docs/builtin_grid.py runs/photos/sh3d-b10-64 --out docs/builtin_photos.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from shapespace.data.builtin.meshes import is_builtin_item, parse_builtin_item
from shapespace.data.photo_cache import open_photo_cache
from shapespace.io.atomic import write_with_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="a photo cache made with --builtin")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--per-class", type=int, default=8, help="shapes per class (default 8)")
    parser.add_argument("--view", type=int, default=3, help="which picture of each shape (default 3)")
    args = parser.parse_args()

    if args.per_class < 1:
        raise SystemExit(f"--per-class {args.per_class}: must be at least 1")
    pairs = open_photo_cache(args.cache)
    views = int(pairs.meta["views"])
    if not 0 <= args.view < views:
        raise SystemExit(f"--view {args.view}: the cache has {views} pictures per shape (0 to {views - 1})")
    rows = []
    for category in pairs.meta["classes"]:
        built = [i for i, s in enumerate(pairs.meta["shapes"]) if is_builtin_item(s["path"]) and parse_builtin_item(s["path"])[0] == category]
        shapes = built[: args.per_class]
        if len(shapes) < args.per_class:
            raise SystemExit(f"{args.cache}: fewer than {args.per_class} built-in {category} shapes; render the cache with --builtin {args.per_class} or more")
        rows.append(np.concatenate([pairs.images[i * views + args.view] for i in shapes], axis=1))
    picture = Image.fromarray(np.concatenate(rows, axis=0)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    write_with_atomic(args.out, lambda tmp: picture.save(tmp, format="PNG", optimize=True))
    print(args.out)


if __name__ == "__main__":
    main()

"""A picture of training renders beside real IKEA photos (issue 16); it shows photos of the
data set, so it is written outside the repository (runs/).

For each of the six classes, one row: ``--per-class`` pictures of a photo cache
(`shapespace data photos`) on the left, as many IKEA photos of that class on the right,
each resized to a square the way the encoder sees it (stretched). Both are chosen at
random with ``--seed``.

    python docs/photo_grid.py runs/photos/sh3d-64 ../shared/data/ikea-dev --out runs/photos_vs_ikea.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shapespace.data.ikea import ikea_pairs
from shapespace.data.photo_cache import open_photo_cache
from shapespace.io.atomic import write_with_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="a photo cache (shapespace data photos)")
    parser.add_argument("ikea", type=Path, help="an IKEA folder (Images/ Voxels/ Lists/)")
    parser.add_argument("--out", type=Path, required=True, help="picture to write (.jpg or .png)")
    parser.add_argument("--per-class", type=int, default=5, help="pictures of each side per class (default 5)")
    parser.add_argument("--size", type=int, default=96, help="tile side in pixels (default 96)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    pairs = open_photo_cache(args.cache)
    classes = pairs.meta["classes"]
    photos = ikea_pairs(args.ikea)
    n, s, gap, label = args.per_class, args.size, 12, 90
    width = label + 2 * n * s + gap
    canvas = Image.new("RGB", (width, 24 + len(classes) * s), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((label, 6), "rendered training pictures (Sweet Home 3D furniture)", fill=(0, 0, 0))
    draw.text((label + n * s + gap, 6), "real IKEA photos (ikea-dev, evaluation only)", fill=(0, 0, 0))
    for row, name in enumerate(classes):
        y = 24 + row * s
        draw.text((6, y + s // 2 - 6), name, fill=(0, 0, 0))
        shapes = np.flatnonzero(pairs.labels == classes.index(name))
        pictures = np.flatnonzero(np.isin(pairs.shape_of, rng.choice(shapes, size=min(n, len(shapes)), replace=False)))
        for k, index in enumerate(rng.choice(pictures, size=n, replace=False)):
            canvas.paste(Image.fromarray(pairs.images[index]).resize((s, s), Image.BICUBIC), (label + k * s, y))
        chosen = [p for p in photos if p.category == name]
        for k, index in enumerate(rng.choice(len(chosen), size=min(n, len(chosen)), replace=False)):
            photo = Image.open(chosen[index].image).convert("RGB").resize((s, s), Image.BICUBIC)
            canvas.paste(photo, (label + n * s + gap + k * s, y))
    options = {"quality": 85} if args.out.suffix.lower() in (".jpg", ".jpeg") else {"optimize": True}
    write_with_atomic(args.out, lambda tmp: canvas.save(tmp, **options))
    print(args.out)


if __name__ == "__main__":
    main()

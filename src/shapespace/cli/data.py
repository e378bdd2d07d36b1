"""``shapespace data prepare | info | show | export | photos``."""

from __future__ import annotations

import argparse
import json

from pathlib import Path

from shapespace.cli.args import (
    add_json_flag,
    add_output_flag,
    add_progress_flag,
    add_source_flags,
    checked,
    name_list,
    non_negative_int,
    positive_int,
    report_skipped,
    selection_from,
)
from shapespace.config import in_range


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import prepare

    summary = prepare(
        args.data, args.out, resolution=args.resolution, selection=selection_from(args),
        progress=not args.no_progress, overwrite=args.overwrite,
    )  # fmt: skip
    report_skipped(summary["skipped_files"])
    print(json.dumps(summary, indent=2))
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import describe

    info = describe(args.data, selection_from(args))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['source']}: {info['kind']}" + (f", layout {info['layout']}" if "layout" in info else "")
          + (f", {info['resolution']}^3" if "resolution" in info else ""))  # fmt: skip
    print(f"{'class':<16} {'train':>7} {'test':>7}")
    for category, row in info["counts"].items():
        print(f"{category:<16} {row['train']:>7} {row['test']:>7}")
    print(f"{'total':<16} {sum(r['train'] for r in info['counts'].values()):>7} {sum(r['test'] for r in info['counts'].values()):>7}")
    if info.get("skipped"):
        print(f"skipped as bad when prepared: {info['skipped']} files (listed in cache.json):")
        for item in info["skipped_files"]:
            print(f"  {item['error']}")
    _print_credits(info.get("attribution", []), info.get("left_out", []))
    return 0


def _print_credits(credited: list[dict], left_out: list[dict]) -> None:
    """Each model's creator and licence, and the items left out as of no class, with why."""
    from shapespace.data.sweethome_classes import NO_CLASS_REASON

    if credited:
        print(f"models, their creators and licences ({len(credited)}; credit the creators where the licence asks):")
        for item in credited:
            licence_file = f" (licence file {item['license_file']} in the library)" if item.get("license_file") else ""
            print(f"  {item['class']:<9} {item['path']}: {item['name']!r} by {item['creator'] or 'an unnamed creator'}; {item['license']}{licence_file}")
    if left_out:
        print(f"left out as of none of the classes: {len(left_out)} items (shapespace/data/sweethome_classes.py):")
        unnamed: dict[str, list[str]] = {}
        for item in left_out:
            if item["reason"] == NO_CLASS_REASON:
                unnamed.setdefault(item["sweethome_category"] or "no category", []).append(item["name"])
            else:
                print(f"  {item['path']}: {item['reason']}")
        for category, names in sorted(unnamed.items()):
            print(f"  {category} ({len(names)}, {NO_CLASS_REASON}): {', '.join(sorted(set(names)))}")


def cmd_data_show(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import show

    summary = show(args.data, args.out, n=args.n, resolution=args.resolution, ncols=args.ncols, selection=selection_from(args))
    report_skipped(summary["skipped_files"])
    print(json.dumps(summary, indent=2))
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import export

    summary = export(args.data, args.out, resolution=args.resolution, selection=selection_from(args), progress=not args.no_progress)
    report_skipped(summary["skipped_files"])
    print(json.dumps(summary, indent=2))
    return 0


def cmd_data_photos(args: argparse.Namespace) -> int:
    from shapespace.data.photo_cache import prepare_photo_cache

    meta = prepare_photo_cache(
        args.data, args.out, resolution=args.resolution, size=args.size, views=args.views, seed=args.seed,
        classes=args.classes, textures=args.textures, workers=args.workers, progress=not args.no_progress, overwrite=args.overwrite,
        builtin=args.builtin,
    )  # fmt: skip
    counts = {c: sum(s["class"] == c for s in meta["shapes"]) for c in meta["classes"]}
    summary = {
        "out": str(args.out), "shapes": meta["count"], "classes": counts, "views": meta["views"], "pictures": meta["count"] * meta["views"],
        "size": meta["size"], "resolution": meta["resolution"], "rendered_now": meta["rendered"], "preview": str(args.out / "preview.png"),
    }  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0


def _add_resolution_flag(p: argparse.ArgumentParser) -> None:
    # The range (2 to 256, a memory cap) is checked by the library, whose one-line error names --res.
    p.add_argument("--res", dest="resolution", type=positive_int, default=32, help="grid size R, 2 to 256 (default 32)")


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="prepare, inspect, picture and export shape data")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    source_help = "builtin:<class>, a cache, a shape file or folder"

    p = data_sub.add_parser("prepare", help="voxelise a folder of shape files once into a memory-mapped cache")
    p.add_argument("data", metavar="SOURCE", help="a shape file or folder (ModelNet, 3DShapeNets, ShapeNet, IKEA layouts or any folder)")
    _add_resolution_flag(p)
    add_output_flag(p, kind="dir", required=True, help="cache folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing cache in --out")
    add_progress_flag(p)
    add_source_flags(p, split_default="all")
    p.set_defaults(func=cmd_data_prepare)

    p = data_sub.add_parser("info", help="shapes per class and split")
    p.add_argument("data", metavar="SOURCE", help=source_help)
    add_json_flag(p)
    add_source_flags(p, split_default="all")
    p.set_defaults(func=cmd_data_info)

    p = data_sub.add_parser("show", help="a picture of shapes from a source")
    p.add_argument("data", metavar="SOURCE", help=source_help)
    p.add_argument("--n", type=positive_int, default=16, help="shapes to show, spread over the classes (default 16)")
    _add_resolution_flag(p)
    p.add_argument("--ncols", type=positive_int, help="pictures per row (default: a square)")
    add_output_flag(p, kind="file", required=True, help="PNG file to write")
    add_source_flags(p, split_default="all")
    p.set_defaults(func=cmd_data_show)

    p = data_sub.add_parser("export", help="write shapes as .npz arrays (voxels, labels, classes, paths)")
    p.add_argument("data", metavar="SOURCE", help=source_help)
    _add_resolution_flag(p)
    add_output_flag(p, kind="file", required=True, help=".npz file to write")
    add_progress_flag(p)
    add_source_flags(p, split_default="all")
    p.set_defaults(func=cmd_data_export)

    p = data_sub.add_parser(
        "photos", help="render textured furniture in random rooms into a photo cache for train vae-gan --photo-cache (resumable)"
    )
    p.add_argument("data", metavar="SOURCE", help="Sweet Home 3D furniture: a .sh3f library, sweethome3d.jar or a folder of them (make fetch-furniture)")
    add_output_flag(p, kind="dir", required=True, help="photo cache folder to create, or to continue")
    _add_resolution_flag(p)
    p.add_argument("--size", type=checked(int, in_range(8, 1024)), default=128, help="picture side in pixels, 8 to 1024 (default 128)")
    p.add_argument("--views", type=positive_int, default=48, help="pictures per shape (default 48)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the rooms, cameras and lights (default 0)")
    p.add_argument("--classes", type=name_list, help="only these classes, comma-separated (default: all six)")
    p.add_argument("--textures", type=Path, help="sweethome3d.jar for the floor and wall textures (default: found in SOURCE)")
    p.add_argument("--builtin", type=non_negative_int, default=0, metavar="N",
                   help="also the first N built-in procedural shapes of each class, painted as flat-pack furniture, in the same rooms (default 0)")
    p.add_argument("--workers", type=non_negative_int, help="rendering processes (default: one per core; 0: in this process)")
    p.add_argument("--overwrite", action="store_true", help="replace a cache in --out that was rendered with other settings")
    add_progress_flag(p)
    p.set_defaults(func=cmd_data_photos)

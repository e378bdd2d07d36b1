"""The commands that use a trained model: ``sample``, ``interpolate``, ``arithmetic``,
``neighbours`` and ``reconstruct``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shapespace.cli.args import (
    add_device_flag,
    add_format_flag,
    add_output_flag,
    add_progress_flag,
    add_samples_flag,
    add_source_flags,
    fraction,
    non_negative_int,
    positive_int,
    report_skipped,
    selection_from,
)


def _written(written: dict) -> dict:
    return {k: len(v) for k, v in written.items()}


def cmd_sample(args: argparse.Namespace) -> int:
    from shapespace.pipelines.sampling import load_gan, parse_formats, sample_shapes, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    shapes = sample_shapes(model, args.n, seed=args.seed)
    print(json.dumps({"out": str(args.out), "written": _written(write_shapes(shapes, args.out, formats, name="samples"))}, indent=2))
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from shapespace.pipelines.experiments import latents_for
    from shapespace.pipelines.sampling import interpolate_shapes, load_gan, parse_formats, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    z = latents_for(model, seeds=args.seeds, shapes=args.shapes, steps=args.invert_steps, progress=not args.no_progress)
    shapes = interpolate_shapes(model, z[0], z[1], steps=args.steps)
    written = write_shapes(shapes, args.out, formats, name="interpolation", ncols=len(shapes))
    print(json.dumps({"out": str(args.out), "written": _written(written)}, indent=2))
    return 0


def cmd_arithmetic(args: argparse.Namespace) -> int:
    from shapespace.pipelines.experiments import arithmetic, latents_for
    from shapespace.pipelines.sampling import load_gan, parse_formats, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    z = latents_for(model, seeds=args.seeds, shapes=args.shapes, steps=args.invert_steps, progress=not args.no_progress)
    written = write_shapes(arithmetic(model, z[0], z[1], z[2]), args.out, formats, name="arithmetic", ncols=4)
    print(json.dumps({"out": str(args.out), "shapes": "a, b, c, a - b + c", "written": _written(written)}, indent=2))
    return 0


def cmd_neighbours(args: argparse.Namespace) -> int:
    from shapespace.pipelines.experiments import neighbours_figure
    from shapespace.pipelines.sampling import load_gan

    model = load_gan(args.checkpoint, device=args.device)
    data = selection_from(args).load(args.data, model.config.resolution, progress=not args.no_progress)
    report_skipped(data.skipped)
    result = neighbours_figure(
        model, data.voxels, Path(args.out) / "neighbours.png", n=args.n, k=args.k, seed=args.seed, progress=not args.no_progress
    )
    print(json.dumps({k: v for k, v in result.items() if k != "indices"}, indent=2))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from shapespace.pipelines.reconstruction import has_class_head, reconstruct_and_classify_files, reconstruct_files, write_reconstructions
    from shapespace.pipelines.sampling import parse_formats

    formats = parse_formats(args.format)
    models = [args.checkpoint, *(args.ensemble or [])]
    flags = dict(device=args.device, samples=args.samples, mirror=args.mirror, class_prior=args.class_prior)
    named = None
    if all(has_class_head(m) for m in models):  # the class each photo shows, as the class heads name it
        shapes, _, probabilities, classes = reconstruct_and_classify_files(models, args.images, **flags)
        best = probabilities.max(1)
        named = [
            {"image": str(image), "class": classes[k], "probability": round(float(p), 3)}
            for image, k, p in zip(args.images, best.indices.tolist(), best.values.tolist())
        ]
    else:
        shapes, _ = reconstruct_files(models, args.images, **flags)
    written = write_reconstructions(shapes, args.images, args.out, formats, threshold=args.threshold)
    report = {"out": str(args.out), "images": len(args.images), "models": [str(m) for m in models], "written": written}
    if named is not None:
        report["classes"] = named
    print(json.dumps(report, indent=2))
    return 0


def _add_model_flags(p: argparse.ArgumentParser, what: str = "run folder or model folder") -> None:
    p.add_argument("checkpoint", type=Path, help=what)
    add_device_flag(p)


def _add_latent_flags(p: argparse.ArgumentParser, count: int) -> None:
    """--seeds / --shapes (``count`` of them) and the output flags of the latent-space commands."""
    names = ("A", "B", "C")[:count]
    p.add_argument("--seeds", type=non_negative_int, nargs=count, metavar=names, help=f"{count} latent seeds")
    p.add_argument("--shapes", type=Path, nargs=count, metavar=tuple(f"FILE_{n}" for n in names),
                   help=f"{count} shape files (any readable format); their codes are found by inverting G")  # fmt: skip
    p.add_argument("--invert-steps", type=positive_int, default=300, help="optimisation steps per inverted shape (default 300)")
    add_output_flag(p, kind="dir", required=True, help="output folder")
    add_format_flag(p, "npy,png")
    add_progress_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="sample shapes from a trained 3D-GAN")
    _add_model_flags(p)
    p.add_argument("--n", type=positive_int, default=16, help="number of shapes (default 16)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default 0)")
    add_output_flag(p, kind="dir", required=True, help="output folder")
    add_format_flag(p, "npy,png,obj")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", help="shapes along a line in latent space between two seeds or two shapes")
    _add_model_flags(p)
    _add_latent_flags(p, 2)
    p.add_argument("--steps", type=positive_int, default=8, help="shapes along the line, endpoints included (default 8)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("arithmetic", help="shape arithmetic in latent space: a - b + c")
    _add_model_flags(p)
    _add_latent_flags(p, 3)
    p.set_defaults(func=cmd_arithmetic)

    p = sub.add_parser("neighbours", help="samples beside their nearest training shapes (1 - IoU)")
    _add_model_flags(p)
    p.add_argument("--data", required=True, help="the training shapes (a data specification)")
    p.add_argument("--n", type=positive_int, default=6, help="samples (default 6)")
    p.add_argument("--k", type=positive_int, default=3, help="neighbours per sample (default 3)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default 0)")
    add_output_flag(p, kind="dir", required=True, help="output folder (neighbours.png)")
    add_progress_flag(p)
    add_source_flags(p, split_default="train")
    p.set_defaults(func=cmd_neighbours)

    p = sub.add_parser("reconstruct", help="3D shapes from photos with a trained 3D-VAE-GAN")
    _add_model_flags(p, "run or model folder of a trained 3D-VAE-GAN")
    p.add_argument("images", type=Path, nargs="+", help="photos, each cropped around one object (any format Pillow reads)")
    add_output_flag(p, kind="dir", required=True, help="output folder")
    add_format_flag(p, "npy,png,obj")
    p.add_argument("--threshold", type=fraction, default=0.5, help="iso-level of pictures and meshes (default 0.5)")
    p.add_argument("--ensemble", type=Path, action="append", metavar="RUN",
                   help="also reconstruct with this 3D-VAE-GAN and average the shapes (an ensemble; repeat for more)")
    add_samples_flag(p)
    p.set_defaults(func=cmd_reconstruct)

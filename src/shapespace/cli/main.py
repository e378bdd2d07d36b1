"""The ``shapespace`` command line: a thin layer over the Python API.

Every command maps to one function of :mod:`shapespace.pipelines` or
:mod:`shapespace.training`; user errors (bad flags, missing files, unknown presets) exit
with status 2 and a one-line message naming the flag or file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from shapespace import __version__
from shapespace.errors import ShapespaceError


def _checked(convert: Callable[[str], float], accept: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse ``type`` that converts, then checks the value; argparse names the flag."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _checked(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _checked(float, lambda v: v > 0, "a positive number")
non_negative_float = _checked(float, lambda v: v >= 0, "a number >= 0")
fraction = _checked(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")
real_label_value = _checked(float, lambda v: 0.5 < v <= 1, "a number in (0.5, 1]")


# -- commands -------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace) -> int:
    from shapespace.models import ShapeGAN, count_parameters, get_preset, preset_names

    rows = []
    for name in preset_names():
        preset = get_preset(name)
        model = ShapeGAN(preset.config)
        rows.append(
            {
                "name": name,
                "resolution": preset.config.resolution,
                "generator_parameters": count_parameters(model.generator),
                "discriminator_parameters": count_parameters(model.discriminator),
                "description": preset.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'preset':<10} {'res':>4} {'G params':>12} {'D params':>12}  description")
    for r in rows:
        print(
            f"{r['name']:<10} {r['resolution']:>4} {r['generator_parameters']:>12,} "
            f"{r['discriminator_parameters']:>12,}  {r['description']}"
        )
    return 0


def cmd_train_gan(args: argparse.Namespace) -> int:
    from shapespace.data.sources import load_voxel_set
    from shapespace.models import get_preset
    from shapespace.training.config import PAPER_VALUES, get_recipe
    from shapespace.training.gan_trainer import GANTrainer

    model_config = get_preset(args.preset).config
    if args.latent_prior:
        model_config = model_config.replace(latent_prior=args.latent_prior)
    overrides = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "lr_generator": args.lr_g,
        "lr_discriminator": args.lr_d,
        "d_accuracy_threshold": args.d_threshold,
        "real_label": args.real_label,
        "joint_d_batch": True if args.joint_d_batch else None,
        "instance_noise": args.instance_noise,
        "instance_noise_steps": args.instance_noise_steps,
        "precision": args.precision,
        "sample_every": args.sample_every,
        "checkpoint_every": args.checkpoint_every,
        "log_every": args.log_every,
    }
    recipe = get_recipe(args.recipe)
    changes = {k: v for k, v in overrides.items() if v is not None}
    # Overriding a field the recipe sets for the paper's sake makes it a custom recipe.
    recipe_fields = set(PAPER_VALUES) | {"instance_noise_steps"}
    if any(getattr(recipe, k) != v for k, v in changes.items() if k in recipe_fields):
        changes["recipe"] = f"{recipe.recipe}+custom"
    train_config = recipe.replace(**changes)
    data = load_voxel_set(args.data, model_config.resolution, seed=args.data_seed)
    trainer = GANTrainer(model_config, train_config, data, args.out, device=args.device, resume=args.resume, progress=not args.no_progress)
    deviations = train_config.deviations()
    print(f"training {args.preset} on {data.source} ({len(data)} shapes) into {args.out}", file=sys.stderr)
    if deviations:
        named = ", ".join(f"{k}={v['value']} (paper {v['paper']})" for k, v in deviations.items())
        print(f"deviations from the paper: {named}", file=sys.stderr)
    summary = trainer.train()
    print(json.dumps(summary, indent=2))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from shapespace.pipelines.sampling import load_gan, parse_formats, sample_shapes, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    shapes = sample_shapes(model, args.n, seed=args.seed)
    written = write_shapes(shapes, args.out, formats, name="samples")
    print(json.dumps({"out": str(args.out), "written": {k: len(v) for k, v in written.items()}}, indent=2))
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from shapespace.pipelines.sampling import interpolate_shapes, load_gan, parse_formats, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    shapes = interpolate_shapes(model, args.seeds[0], args.seeds[1], steps=args.steps)
    written = write_shapes(shapes, args.out, formats, name="interpolation", ncols=len(shapes))
    print(json.dumps({"out": str(args.out), "written": {k: len(v) for k, v in written.items()}}, indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shapespace.pipelines.demo import run_demo

    report = run_demo(out=args.out, steps=args.steps, seed=args.seed, device=args.device, progress=not args.no_progress, overwrite=args.overwrite)
    print(json.dumps(report, indent=2))
    return 0


# -- parser ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shapespace",
        description="Learn a probabilistic latent space of 3D shapes (3D-GAN, Wu et al. 2016).",
    )
    parser.add_argument("--version", action="version", version=f"shapespace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("presets", help="list the model presets with their parameter counts")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_presets)

    train = sub.add_parser("train", help="train a model")
    train_sub = train.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    p = train_sub.add_parser("gan", help="train a 3D-GAN (the paper's recipe by default)")
    p.add_argument("--data", required=True, help="training shapes: builtin:<class>, builtin:all")
    p.add_argument("--preset", default="paper-32", help="model preset (see `shapespace presets`; default paper-32)")
    p.add_argument("--out", required=True, type=Path, help="run folder to create (or to continue with --resume)")
    p.add_argument("--recipe", default="paper", help="training recipe to start from: paper, or fast (the demo's; see README) (default: paper)")
    p.add_argument("--steps", type=positive_int, help="generator updates in total (recipe default 20000)")
    p.add_argument("--batch-size", type=positive_int, help="shapes per step (paper: 100)")
    p.add_argument("--seed", type=non_negative_int, help="seed for weights, data order and latents (default 0)")
    p.add_argument("--lr-g", type=positive_float, help="generator learning rate (paper: 0.0025)")
    p.add_argument("--lr-d", type=positive_float, help="discriminator learning rate (paper: 1e-5)")
    p.add_argument("--d-threshold", type=fraction, help="update D only while its batch accuracy is at most this (paper: 0.8)")
    p.add_argument("--real-label", type=real_label_value, help="D's target for real shapes; below 1 is one-sided label smoothing (paper: 1)")
    p.add_argument("--joint-d-batch", action="store_true", help="score real and generated shapes in one D batch (shared BatchNorm statistics)")
    p.add_argument("--instance-noise", type=non_negative_float, help="std of Gaussian noise on D's inputs at step 0, fading to 0 (paper: 0)")
    p.add_argument("--instance-noise-steps", type=positive_int, help="the step at which the instance noise reaches 0")
    p.add_argument("--latent-prior", choices=("uniform", "normal"), help="override the preset's prior p(z)")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), help="numeric precision (default fp32; auto = bf16 on CPU)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--sample-every", type=non_negative_int, help="write a sample picture every N steps (0: never)")
    p.add_argument("--checkpoint-every", type=non_negative_int, help="write checkpoints every N steps (0: only at the end)")
    p.add_argument("--log-every", type=positive_int, help="log losses every N steps")
    p.add_argument("--data-seed", type=non_negative_int, default=0, help="seed of the built-in shape generator (default 0)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_train_gan)

    p = sub.add_parser("sample", help="sample shapes from a trained 3D-GAN")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    p.add_argument("--n", type=positive_int, default=16, help="number of shapes (default 16)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", default="npy,png,obj", help="comma-separated: npy, png, obj, stl, ply, glb (default npy,png,obj)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", help="shapes along a line in latent space between two seeds")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    p.add_argument("--seeds", type=non_negative_int, nargs=2, metavar=("A", "B"), required=True, help="the two latent seeds")
    p.add_argument("--steps", type=positive_int, default=8, help="shapes along the line, endpoints included (default 8)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", default="npy,png", help="comma-separated: npy, png, obj, stl, ply, glb (default npy,png)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("demo", help="train paper-32 on builtin:chair and write samples, meshes and an interpolation")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.add_argument("--steps", type=positive_int, default=None, help="override the demo's number of steps")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--overwrite", action="store_true", help="replace an existing demo run in --out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ShapespaceError as exc:
        print(f"shapespace: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shapespace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

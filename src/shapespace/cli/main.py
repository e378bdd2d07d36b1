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
fill_fraction = _checked(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
holdout_fraction = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
open_unit_float = _checked(float, lambda v: 0 < v < 1, "a number in (0, 1)")


def name_list(text: str) -> list[str]:
    """A comma-separated list of names, e.g. ``chair,table``."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of names, got {text!r}")
    return names


def signed_axis(text: str) -> str:
    from shapespace.errors import DataError
    from shapespace.geometry.frame import parse_axis

    try:
        parse_axis(text)
    except DataError:
        raise argparse.ArgumentTypeError(f"expected a signed axis such as +z, -y or +x, got {text!r}") from None
    return text


# -- data sources ---------------------------------------------------------------------
def _add_source_args(p: argparse.ArgumentParser, split_default: str | None) -> None:
    """Flags shared by every command that reads a data source (--data / DATA); no --split when ``split_default`` is None."""
    g = p.add_argument_group("data source")
    g.add_argument("--classes", type=name_list, help="comma-separated classes to keep (default: all)")
    if split_default is not None:
        g.add_argument("--split", choices=("train", "test", "all"), default=split_default, help=f"split to use (default {split_default})")
    g.add_argument("--views", choices=("first", "all"), default="first",
                   help="3DShapeNets .mat rotations _1.._12: first keeps _1 (canonical), all keeps the 12 (default first)")  # fmt: skip
    g.add_argument("--holdout", type=holdout_fraction, default=0.0,
                   help="move this fraction of training shapes (chosen by name, all views together) to the test split (default 0)")  # fmt: skip
    g.add_argument("--fill", type=fill_fraction, help="longest side of each shape as a fraction of the grid (default 0.75, ModelNet's 24/32)")
    solid = g.add_mutually_exclusive_group()
    solid.add_argument("--solid", dest="solid", action="store_true", default=None, help="fill enclosed interiors (meshes: default)")
    solid.add_argument("--surface", dest="solid", action="store_false", help="keep surfaces only (point clouds: default)")
    g.add_argument("--close", type=non_negative_int, help="closing iterations that bridge gaps in point clouds (default 1)")
    g.add_argument("--up", type=signed_axis, help="the source's up axis, e.g. +z (default: each format's documented frame)")
    g.add_argument("--front", type=signed_axis, help="the direction the source's objects face, e.g. -y (give with --up)")
    g.add_argument("--align", action="store_true", default=None, help="turn each shape so its back (e.g. a backrest) is at the back")
    g.add_argument("--skip-bad", action="store_true", help="skip unreadable files (listed) instead of stopping at the first")
    g.add_argument("--workers", type=positive_int, help="reader processes (default: every core)")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    """The recipe overrides and run flags shared by `train gan` and `train vae-gan`."""
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
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), help="numeric precision (default fp32; auto = bf16 on CPU)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--sample-every", type=non_negative_int, help="write a sample picture every N steps (0: never)")
    p.add_argument("--checkpoint-every", type=non_negative_int, help="write checkpoints every N steps (0: only at the end)")
    p.add_argument("--log-every", type=positive_int, help="log losses every N steps")
    p.add_argument("--augment", type=name_list, help="random transforms of real shapes: flip, rot90 (default none, as the paper)")


def _add_latent_args(p: argparse.ArgumentParser, count: int) -> None:
    """--seeds / --shapes (``count`` of them) and the output flags of the latent-space commands."""
    names = ("A", "B", "C")[:count]
    p.add_argument("--seeds", type=non_negative_int, nargs=count, metavar=names, help=f"{count} latent seeds")
    p.add_argument("--shapes", type=Path, nargs=count, metavar=tuple(f"FILE_{n}" for n in names),
                   help=f"{count} shape files (any readable format); their codes are found by inverting G")  # fmt: skip
    p.add_argument("--invert-steps", type=positive_int, default=300, help="optimisation steps per inverted shape (default 300)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", default="npy,png", help="comma-separated: npy, png, obj, stl, ply, glb (default npy,png)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")


def _read_overrides(args: argparse.Namespace) -> dict:
    """The read options the user set explicitly (the rest stay per-format defaults)."""
    names = ("fill", "solid", "close", "up", "front", "align")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _selection(args: argparse.Namespace) -> dict:
    return {
        "classes": args.classes,
        **({"split": args.split} if hasattr(args, "split") else {}),
        "views": args.views,
        "holdout": args.holdout,
        "read_options": _read_overrides(args),
        "skip_bad": args.skip_bad,
    }


# -- commands -------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace) -> int:
    from shapespace.models import MODEL_PRESETS, ShapeGAN, count_parameters, get_preset, preset_names

    rows = []
    for name in preset_names():
        preset = get_preset(name)
        model = ShapeGAN(preset)
        rows.append(
            {
                "name": name,
                "resolution": preset.resolution,
                "generator_parameters": count_parameters(model.generator),
                "discriminator_parameters": count_parameters(model.discriminator),
                "description": MODEL_PRESETS.entry(name).description,
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


def _train_config(args: argparse.Namespace, recipe, paper_fields: set[str], extra: dict | None = None):
    """The recipe with the flags the user set; overriding a paper field makes it a custom recipe."""
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
    if args.augment is not None:
        overrides["augment"] = tuple(args.augment)
    overrides.update(extra or {})
    changes = {k: v for k, v in overrides.items() if v is not None}
    recipe_fields = paper_fields | {"instance_noise_steps"}
    if any(getattr(recipe, k) != v for k, v in changes.items() if k in recipe_fields):
        changes["recipe"] = f"{recipe.recipe}+custom"
    return recipe.replace(**changes)


def _print_deviations(config) -> None:
    deviations = config.deviations()
    if deviations:
        named = ", ".join(f"{k}={v['value']} (paper {v['paper']})" for k, v in deviations.items())
        print(f"deviations from the paper: {named}", file=sys.stderr)


def cmd_train_gan(args: argparse.Namespace) -> int:
    from shapespace.data.sources import load_voxel_set
    from shapespace.models import get_preset
    from shapespace.training.config import GAN_RECIPES, GANTrainConfig
    from shapespace.training.gan_trainer import GANTrainer

    model_config = get_preset(args.preset)
    if args.latent_prior:
        model_config = model_config.replace(latent_prior=args.latent_prior)
    train_config = _train_config(args, GAN_RECIPES.get(args.recipe), set(GANTrainConfig.recipe_fields()))
    data = load_voxel_set(
        args.data, model_config.resolution, seed=args.data_seed, workers=args.workers, progress=not args.no_progress, **_selection(args)
    )
    trainer = GANTrainer(model_config, train_config, data, args.out, device=args.device, resume=args.resume, progress=not args.no_progress)
    print(f"training {args.preset} on {data.source} ({len(data)} shapes) into {args.out}", file=sys.stderr)
    _print_deviations(train_config)
    summary = trainer.train()
    print(json.dumps(summary, indent=2))
    return 0


def cmd_train_vae_gan(args: argparse.Namespace) -> int:
    from shapespace.data.sources import load_voxel_sets
    from shapespace.models import get_preset
    from shapespace.models.encoder import get_encoder_preset
    from shapespace.models.gan import read_model_config
    from shapespace.models.pretrained import resolve_model_dir
    from shapespace.training.vaegan_config import VAE_RECIPES, VAEGANTrainConfig
    from shapespace.training.vaegan_trainer import VAEGANTrainer

    if args.init_from is not None:
        model_config = read_model_config(resolve_model_dir(args.init_from))
        if args.preset is not None and get_preset(args.preset).replace(latent_prior="normal") != model_config.replace(latent_prior="normal"):
            raise ShapespaceError(f"--preset {args.preset} differs from the architecture of --init-from {args.init_from}; leave --preset out")
        if model_config.latent_prior != "normal":
            raise ShapespaceError(
                f"--init-from {args.init_from}: that GAN uses the {model_config.latent_prior} prior; a 3D-VAE-GAN needs "
                "one trained with --latent-prior normal"
            )
    else:
        # The encoder's Gaussian posterior needs a Gaussian prior for its KL term.
        model_config = get_preset(args.preset or "paper-32").replace(latent_prior="normal")
    encoder_config = get_encoder_preset(args.encoder, model_config.latent_dim)
    extra = {
        "lr_encoder": args.lr_e, "kl_weight": args.kl_weight, "recon_weight": args.recon_weight, "recon_loss": args.recon_loss,
        "recon_positive_weight": args.recon_positive_weight, "gan_weight": args.gan_weight,
        "photo_clutter": args.clutter, "photo_occluders": args.occluders, "photo_texture": args.texture, "photo_blur": args.blur,
    }  # fmt: skip
    train_config = _train_config(args, VAE_RECIPES.get(args.recipe), set(VAEGANTrainConfig.recipe_fields()), extra)
    data = load_voxel_sets(
        args.data, model_config.resolution, seed=args.data_seed, count=args.count, workers=args.workers,
        progress=not args.no_progress, **_selection(args),
    )  # fmt: skip
    trainer = VAEGANTrainer(
        model_config, encoder_config, train_config, data, args.out, init_from=args.init_from,
        device=args.device, resume=args.resume, progress=not args.no_progress,
    )  # fmt: skip
    print(f"training a 3D-VAE-GAN (encoder {args.encoder}) on {data.source} ({len(data)} shapes) into {args.out}", file=sys.stderr)
    _print_deviations(train_config)
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


def _latents_from_args(model, args: argparse.Namespace, count: int):
    """Latent codes from --seeds or from --shapes (shape files, inverted through G)."""
    from shapespace.errors import ConfigError
    from shapespace.geometry.voxelize import VoxelizeOptions
    from shapespace.io.registry import read_shape
    from shapespace.pipelines.experiments import latents_for

    if (args.seeds is None) == (args.shapes is None):
        raise ConfigError(f"give --seeds or --shapes ({count} of them), not both")
    if args.shapes is not None:
        import torch

        shapes = torch.stack([torch.from_numpy(read_shape(p, VoxelizeOptions(resolution=model.config.resolution))) for p in args.shapes])
        return latents_for(model, shapes=shapes, steps=args.invert_steps)
    return latents_for(model, seeds=args.seeds)


def cmd_interpolate(args: argparse.Namespace) -> int:
    from shapespace.pipelines.sampling import interpolate_shapes, load_gan, parse_formats, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    z = _latents_from_args(model, args, 2)
    shapes = interpolate_shapes(model, z[0], z[1], steps=args.steps)
    written = write_shapes(shapes, args.out, formats, name="interpolation", ncols=len(shapes))
    print(json.dumps({"out": str(args.out), "written": {k: len(v) for k, v in written.items()}}, indent=2))
    return 0


def cmd_arithmetic(args: argparse.Namespace) -> int:
    from shapespace.pipelines.experiments import arithmetic
    from shapespace.pipelines.sampling import load_gan, parse_formats, write_shapes

    formats = parse_formats(args.format)
    model = load_gan(args.checkpoint, device=args.device)
    z = _latents_from_args(model, args, 3)
    shapes = arithmetic(model, z[0], z[1], z[2])
    written = write_shapes(shapes, args.out, formats, name="arithmetic", ncols=4)
    print(json.dumps({"out": str(args.out), "shapes": "a, b, c, a - b + c", "written": {k: len(v) for k, v in written.items()}}, indent=2))
    return 0


def cmd_neighbours(args: argparse.Namespace) -> int:
    from shapespace.data.sources import load_voxel_set
    from shapespace.pipelines.experiments import neighbours_figure
    from shapespace.pipelines.sampling import load_gan

    model = load_gan(args.checkpoint, device=args.device)
    data = load_voxel_set(args.data, model.config.resolution, workers=args.workers, **_selection(args))
    result = neighbours_figure(model, data.voxels, Path(args.out) / "neighbours.png", n=args.n, k=args.k, seed=args.seed)
    print(json.dumps({k: v for k, v in result.items() if k != "indices"}, indent=2))
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import prepare

    summary = prepare(
        args.source, args.out, resolution=args.res, workers=args.workers, progress=not args.no_progress, overwrite=args.overwrite,
        **_selection(args),
    )  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import describe

    info = describe(args.data, classes=args.classes, split=args.split, views=args.views, holdout=args.holdout)
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
        print(f"skipped as bad when prepared: {info['skipped']} files (see cache.json)")
    return 0


def cmd_data_show(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import show

    selection = _selection(args)
    summary = show(args.data, args.out, n=args.n, resolution=args.res, ncols=args.ncols, **selection)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    from shapespace.pipelines.datasets import export

    summary = export(args.data, args.out, resolution=args.res, workers=args.workers, progress=not args.no_progress, **_selection(args))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_eval_gen(args: argparse.Namespace) -> int:
    from shapespace.pipelines.evaluation import evaluate_generation

    selection = _selection(args)
    split = selection.pop("split")
    result = evaluate_generation(
        args.ref, checkpoint=args.checkpoint, samples_file=args.samples, n=args.n, reference_split=split, seed=args.seed,
        n_points=args.points, device=args.device, out=args.out, workers=args.workers, **selection,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['n_samples']} samples against {result['n_reference']} reference shapes ({args.ref}, split {split})")
    print(f"{'distance':<10} {'MMD':>10} {'COV':>8} {'1-NNA':>8}")
    for name in ("chamfer", "iou"):
        row = result[name]
        print(f"{name:<10} {row['mmd']:>10.5f} {row['cov']:>8.1%} {row['1nna']:>8.1%}")
    print(f"JSD (28^3 occupancy): {result['jsd']:.4f}; samples without a surface: {result['empty_samples']}")
    if "memorisation" in result:
        m = result["memorisation"]
        print(f"memorisation: median 1-IoU to the nearest training shape {m['sample_to_train_median']:.3f} "
              f"(training shapes to each other: {m['train_to_train_median']:.3f}); copies {m['copies']:.1%}")  # fmt: skip
    return 0


def cmd_eval_classify(args: argparse.Namespace) -> int:
    from shapespace.pipelines.evaluation import evaluate_classification

    selection = _selection(args)
    result = evaluate_classification(args.checkpoint, args.data, c=args.c, device=args.device, out=args.out, workers=args.workers, **selection)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"linear SVM on D features ({result['features']}): {result['n_train']} train / {result['n_test']} test shapes of {args.data}")
    for name, accuracy in result["per_class_accuracy"].items():
        print(f"  {name:<14} {accuracy:7.1%}")
    print(f"overall accuracy {result['overall_accuracy']:.1%} (paper, ModelNet10: 91.0%); mean per class {result['mean_class_accuracy']:.1%}")
    return 0


def cmd_eval_recon(args: argparse.Namespace) -> int:
    from shapespace.pipelines.reconstruction import evaluate_ikea, format_ikea_table

    result = evaluate_ikea(args.checkpoint, args.ikea, device=args.device, threshold=args.threshold, out=args.out)
    print(json.dumps(result, indent=2) if args.json else format_ikea_table(result))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from shapespace.pipelines.reconstruction import load_images, load_vae_gan, reconstruct, write_reconstructions
    from shapespace.pipelines.sampling import parse_formats

    formats = parse_formats(args.format)
    model = load_vae_gan(args.checkpoint, device=args.device)
    images = load_images(args.images, model.encoder_config.image_size)
    shapes = reconstruct(model, images)
    written = write_reconstructions(shapes, args.images, args.out, formats, threshold=args.threshold)
    print(json.dumps({"out": str(args.out), "images": len(args.images), "written": written}, indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from shapespace.pipelines.report import build_report

    path = build_report(args.run_dir, out=args.out, device=args.device)
    print(json.dumps({"report": str(path)}, indent=2))
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
    p.add_argument("--data", required=True, help="training shapes: builtin:<class>, builtin:all, a cache from `data prepare`, a shape file or folder")
    p.add_argument("--preset", default="paper-32", help="model preset (see `shapespace presets`; default paper-32)")
    p.add_argument("--out", required=True, type=Path, help="run folder to create (or to continue with --resume)")
    p.add_argument("--recipe", default="paper", help="training recipe to start from: paper, or fast (the demo's; see README) (default: paper)")
    _add_train_args(p)
    p.add_argument("--latent-prior", choices=("uniform", "normal"), help="override the preset's prior p(z)")
    p.add_argument("--data-seed", type=non_negative_int, default=0, help="seed of the built-in shape generator (default 0)")
    _add_source_args(p, split_default="train")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_train_gan)

    p = train_sub.add_parser("vae-gan", help="train a 3D-VAE-GAN: image encoder + 3D-GAN, on photos rendered from the shapes")
    p.add_argument("--data", required=True, action="append",
                   help="training shapes (as for `train gan`); repeat for several sources; SOURCE#class,class keeps those classes of SOURCE")  # fmt: skip
    p.add_argument("--preset", help="G/D preset when not starting from a GAN (default paper-32, with the normal prior)")
    p.add_argument("--encoder", default="cpu-64", help="encoder preset: cpu-64 (default) or paper-256")
    p.add_argument("--init-from", type=Path,
                   help="a 3D-GAN run (trained with --latent-prior normal) whose G and D start the training; a 3D-VAE-GAN run also gives its encoder")  # fmt: skip
    p.add_argument("--out", required=True, type=Path, help="run folder to create (or to continue with --resume)")
    p.add_argument("--recipe", default="paper", help="training recipe: paper, or fast (CPU; see README) (default: paper)")
    p.add_argument("--lr-e", type=positive_float, help="encoder learning rate (default 1e-4; the paper does not say)")
    p.add_argument("--kl-weight", type=non_negative_float, help="a1, weight of KL(q(z|y) || p(z)) (paper: 5)")
    p.add_argument("--recon-weight", type=non_negative_float, help="a2, weight of the reconstruction loss (paper: 1e-4)")
    p.add_argument("--recon-loss", choices=("l2", "bce"), help="reconstruction loss summed over voxels: l2 (paper) or bce")
    p.add_argument("--recon-positive-weight", type=open_unit_float,
                   help="gamma in (0, 1): occupied voxels weigh 2*gamma in the reconstruction loss, empty ones 2*(1-gamma) (paper: 0.5, unweighted)")  # fmt: skip
    p.add_argument("--gan-weight", type=non_negative_float,
                   help="weight of L_GAN in the E+G loss (paper: 1); 0 trains E and G as a plain VAE, without D (a warm-up for --init-from)")  # fmt: skip
    p.add_argument("--clutter", type=fraction, help="chance that a training photo shows another shape, zoomed in, behind its object (default 0)")
    p.add_argument("--occluders", type=fraction, help="chance that a plain band covers part of a training photo from an edge (default 0)")
    p.add_argument("--texture", type=fraction, help="chance that a training photo's object gets a patterned surface (default 0)")
    p.add_argument("--blur", type=fraction, help="chance that a training photo is blurred, sigma 0.4-1.2 px (default 0)")
    p.add_argument("--count", type=positive_int, help="built-in shapes per class (default 1000)")
    _add_train_args(p)
    p.add_argument("--data-seed", type=non_negative_int, default=0, help="seed of the built-in shape generator (default 0)")
    _add_source_args(p, split_default="train")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_train_vae_gan)

    data = sub.add_parser("data", help="prepare, inspect, picture and export shape data")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = data_sub.add_parser("prepare", help="voxelise a folder of shape files once into a memory-mapped cache")
    p.add_argument("source", help="a shape file or folder (ModelNet, 3DShapeNets, ShapeNet, IKEA layouts or any folder)")
    p.add_argument("--res", type=positive_int, default=32, help="grid size R (default 32)")
    p.add_argument("--out", type=Path, required=True, help="cache folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing cache in --out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_source_args(p, split_default="all")
    p.set_defaults(func=cmd_data_prepare)

    p = data_sub.add_parser("info", help="shapes per class and split")
    p.add_argument("data", help="builtin:<class>, a cache, a shape file or folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_source_args(p, split_default="all")
    p.set_defaults(func=cmd_data_info)

    p = data_sub.add_parser("show", help="a picture of shapes from a source")
    p.add_argument("data", help="builtin:<class>, a cache, a shape file or folder")
    p.add_argument("--n", type=positive_int, default=16, help="shapes to show, spread over the classes (default 16)")
    p.add_argument("--res", type=positive_int, default=32, help="grid size R (default 32)")
    p.add_argument("--ncols", type=positive_int, help="pictures per row (default: a square)")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    _add_source_args(p, split_default="all")
    p.set_defaults(func=cmd_data_show)

    p = data_sub.add_parser("export", help="write shapes as .npz arrays (voxels, labels, classes, paths)")
    p.add_argument("data", help="builtin:<class>, a cache, a shape file or folder")
    p.add_argument("--res", type=positive_int, default=32, help="grid size R (default 32)")
    p.add_argument("--out", type=Path, required=True, help=".npz file to write")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_source_args(p, split_default="all")
    p.set_defaults(func=cmd_data_export)

    evaluate = sub.add_parser("eval", help="measure a model: generation quality, D's features")
    eval_sub = evaluate.add_subparsers(dest="eval_kind", metavar="WHAT", required=True)
    p = eval_sub.add_parser("gen", help="MMD, COV, 1-NNA (Chamfer and 1-IoU), JSD and memorisation against a reference set")
    p.add_argument("checkpoint", nargs="?", type=Path, help="run or model folder to sample from (or use --samples)")
    p.add_argument("--samples", type=Path, help="an .npy array (N, R, R, R) of occupancies in the canonical frame, from any model")
    p.add_argument("--ref", required=True, help="reference shapes: a data specification (cache, folder, builtin:<class>)")
    p.add_argument("--n", type=positive_int, help="shapes per set (default: the reference split's size)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of latents, subsets and surface points (default 0)")
    p.add_argument("--points", type=positive_int, default=2048, help="surface points per shape for Chamfer and JSD (default 2048)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--out", type=Path, help="also write the result as JSON to this file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_source_args(p, split_default="test")
    p.set_defaults(func=cmd_eval_gen)

    p = eval_sub.add_parser("classify", help="the paper's experiment: a linear SVM on D's features, train split -> test split")
    p.add_argument("checkpoint", type=Path, help="run or model folder of a trained 3D-GAN")
    p.add_argument("--data", required=True, help="shapes with train and test splits, e.g. ModelNet10 (a cache or folder)")
    p.add_argument("--c", type=positive_float, default=0.01, help="SVM regularisation C on standardised features (default 0.01)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--out", type=Path, help="also write the result as JSON to this file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_source_args(p, split_default=None)
    p.set_defaults(func=cmd_eval_classify)

    p = eval_sub.add_parser("recon", help="the paper's IKEA protocol: AP at 20^3 per class, IoU, and a mean-shape baseline")
    p.add_argument("checkpoint", type=Path, help="run or model folder of a trained 3D-VAE-GAN")
    p.add_argument("--ikea", type=Path, required=True, help="IKEA folder (Images/, Voxels/, Lists/ or the 3D-GAN release's layout)")
    p.add_argument("--threshold", type=fraction, default=0.5, help="occupancy threshold for IoU (default 0.5)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--out", type=Path, help="also write the result as JSON to this file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_eval_recon)

    p = sub.add_parser("reconstruct", help="3D shapes from photos with a trained 3D-VAE-GAN")
    p.add_argument("checkpoint", type=Path, help="run or model folder of a trained 3D-VAE-GAN")
    p.add_argument("images", type=Path, nargs="+", help="photos, each cropped around one object (any format Pillow reads)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", default="npy,png,obj", help="comma-separated: npy, png, obj, stl, ply, glb (default npy,png,obj)")
    p.add_argument("--threshold", type=fraction, default=0.5, help="iso-level of pictures and meshes (default 0.5)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("sample", help="sample shapes from a trained 3D-GAN")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    p.add_argument("--n", type=positive_int, default=16, help="number of shapes (default 16)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", default="npy,png,obj", help="comma-separated: npy, png, obj, stl, ply, glb (default npy,png,obj)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", help="shapes along a line in latent space between two seeds or two shapes")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    _add_latent_args(p, 2)
    p.add_argument("--steps", type=positive_int, default=8, help="shapes along the line, endpoints included (default 8)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("arithmetic", help="shape arithmetic in latent space: a - b + c")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    _add_latent_args(p, 3)
    p.set_defaults(func=cmd_arithmetic)

    p = sub.add_parser("neighbours", help="samples beside their nearest training shapes (1 - IoU)")
    p.add_argument("checkpoint", type=Path, help="run folder or model folder")
    p.add_argument("--data", required=True, help="the training shapes (a data specification)")
    p.add_argument("--n", type=positive_int, default=6, help="samples (default 6)")
    p.add_argument("--k", type=positive_int, default=3, help="neighbours per sample (default 3)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder (neighbours.png)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    _add_source_args(p, split_default="train")
    p.set_defaults(func=cmd_neighbours)

    p = sub.add_parser("report", help="one self-contained HTML page for a run: curves, samples, interpolation, evaluations")
    p.add_argument("run_dir", type=Path, help="a run folder from `train gan`")
    p.add_argument("--out", type=Path, help="HTML file to write (default RUN_DIR/report.html)")
    p.add_argument("--device", default="cpu", help="device for the interpolation strip (default cpu)")
    p.set_defaults(func=cmd_report)

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

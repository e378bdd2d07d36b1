"""Benchmark: 3D-GAN training throughput, the project's trainer against a plain reference step.

Prints one JSON object. For each preset (``paper-32`` at batch 32, ``paper-64`` at batch 8),
in one process and alternating, repeat after repeat:

* ``project``: :meth:`GANTrainer.train_step` as shipped -- the ``paper`` recipe (BCE on D's
  logits, Adam with beta1 0.5, G lr 0.0025, D lr 1e-5, separate real and generated batches
  through D, the adaptive D update) with the trainer's default fast settings: precision
  "auto" (bf16 autocast on CPUs with native bf16), memory_format "auto" (channels-last 3D on
  the CPU), fused Adam, one G forward pass per step whose output D's and G's updates share,
  D's weight gradients skipped in G's step, and only the generated batch scored in G's step;
* ``reference``: a plain step written below the way typical 3D-GAN reimplementations do it:
  fp32, eager, contiguous NCDHW tensors, ``torch.optim.Adam`` (not fused, foreach=False), D's
  sigmoid output into ``F.binary_cross_entropy``, separate real and generated batches, D's
  accuracy read with ``.item()`` for the adaptive update, and a fresh generator forward pass
  for G's step (whose backward also computes D's weight gradients).

Both use the same networks (built from :mod:`shapespace.models`) and the same
hyper-parameters, except that ``d_accuracy_threshold`` is 1.0 on both sides: the gate is
evaluated every step but D is always updated, so every timed step is a full D step plus G
step (with the paper's 0.8, whether D is updated depends on the run). Real shapes are random
binary grids held in memory; a step includes drawing its batch.

Throughput is batch / median step time. GFLOP/s count the *model FLOPs* of one step,
analytically from the config, the same number for both sides: 2 FLOPs per multiply-add of
every convolution and transposed convolution; forward passes: G once (B latents), D on the
real and the generated batch in D's step and on the generated batch in G's step; backward
passes, each counted as one forward of the layer per gradient computed: D's step computes
weight gradients of every D layer and input gradients of every D layer but the first (its
input is data), G's step input gradients of every D layer (D's weights are not updated
there) and weight gradients of every G layer plus input gradients of every G layer but the
first (z needs none). BatchNorm, activations, losses and the optimiser are not counted (well
under 1%). The reference executes more than this (a second G forward, D's weight gradients
in G's step): ``reference_executed_gflop_per_step`` says how much; it is not credited.

Peak: the best of several ``torch.mm`` of square fp32 and bf16 matrices (2048 and 4096) on
every core -- what a dense GEMM reaches on this machine, not the data-sheet number.

Targets (issue #6): project at least 2x the reference for both presets, and at least 60% of
the measured bf16 matmul peak.

    python benchmarks/bench_train.py [--presets paper-32,paper-64] [--repeats 5] [--warmup 2]
                                     [--quick] [--ablation [--compile]] [--device cuda] [--recipe robust] [--batch N]

``--ablation`` also times the project trainer with each optimisation turned off alone (and
all of them off), and the reference with G's fake batch reused and D frozen in G's step, each
against the same all-on trainer; ``--compile`` adds ``compile=True`` (slow: it compiles first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from shapespace.data.sources import VoxelSet
from shapespace.models import GANConfig, ShapeGAN, get_preset
from shapespace.training.config import GAN_RECIPES, GANTrainConfig, recipe_architecture
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.runtime import cpu_has_native_bf16

PRESET_BATCHES = {"paper-32": 32, "paper-64": 8}
TARGETS = {"speedup_min": 2.0, "fraction_of_bf16_peak_min": 0.6}
DATA_SHAPES = 256
OCCUPANCY = 0.2  # fraction of filled voxels in the random real shapes (does not affect speed)


# -- FLOP counting ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvLayer:
    """One convolution of G or D with its multiply-adds per sample (forward)."""

    network: str
    index: int
    macs: int


def conv_layers(config: GANConfig) -> list[ConvLayer]:
    """G's and D's convolutions in forward order, as :mod:`shapespace.models` builds them.

    A transposed convolution does ``C_in * C_out * k^3`` multiply-adds per input voxel, a
    convolution ``C_in * C_out * k^3`` per output voxel (kernel 4 everywhere).
    """
    k3 = 4**3
    layers = []
    widths_g = (config.latent_dim,) + config.generator_channels + (1,)
    for i, (c_in, c_out) in enumerate(zip(widths_g[:-1], widths_g[1:])):
        in_size = 1 if i == 0 else 4 * 2 ** (i - 1)  # 1^3 -> 4^3, then doubling
        layers.append(ConvLayer("G", i, c_in * c_out * k3 * in_size**3))
    widths_d = (1,) + config.discriminator_channels
    for i, (c_in, c_out) in enumerate(zip(widths_d[:-1], widths_d[1:])):
        out_size = config.resolution // 2 ** (i + 1)
        layers.append(ConvLayer("D", i, c_in * c_out * k3 * out_size**3))
    layers.append(ConvLayer("D", len(widths_d) - 1, config.discriminator_channels[-1] * k3))  # 4^3 -> one logit
    return layers


def step_flops(config: GANConfig, batch: int) -> dict[str, float]:
    """Model FLOPs of one training step (see the module docstring), and what the reference executes."""
    layers = conv_layers(config)
    g = [layer.macs for layer in layers if layer.network == "G"]
    d = [layer.macs for layer in layers if layer.network == "D"]
    g_forward, d_forward = sum(g), sum(d)
    g_backward = sum(g) + sum(g[1:])  # weight grads + input grads but the first layer's
    d_backward_d_step = sum(d) + sum(d[1:])  # weight grads + input grads but the first layer's
    d_backward_g_step = sum(d)  # input grads only
    model = g_forward + 2 * d_forward + 2 * d_backward_d_step + d_forward + d_backward_g_step + g_backward
    # The reference forwards G again and computes D's weight gradients in G's step too.
    executed = model + g_forward + sum(d)
    return {"model": 2.0 * batch * model, "reference_executed": 2.0 * batch * executed,
            "g_forward_per_sample": 2.0 * g_forward, "d_forward_per_sample": 2.0 * d_forward}  # fmt: skip


def _synchronise() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_peak(dtype: torch.dtype, sizes: tuple[int, ...] = (2048, 4096), repeats: int = 5, device: str = "cpu") -> float:
    """Best GFLOP/s of ``torch.mm`` on square ``dtype`` matrices of the given sizes on ``device``."""
    best = 0.0
    for n in sizes:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=g).to(device, dtype), torch.randn(n, n, generator=g).to(device, dtype)
        out = torch.empty(n, n, dtype=dtype, device=device)
        torch.mm(a, b, out=out)  # warm-up: threads, packing buffers
        for _ in range(repeats):
            _synchronise()
            started = time.perf_counter()
            torch.mm(a, b, out=out)
            _synchronise()
            best = max(best, 2 * n**3 / (time.perf_counter() - started) / 1e9)
    return best


# -- the two sides ----------------------------------------------------------------------------
def random_shapes(resolution: int) -> VoxelSet:
    g = torch.Generator().manual_seed(0)
    voxels = (torch.rand(DATA_SHAPES, resolution, resolution, resolution, generator=g) < OCCUPANCY).to(torch.uint8)
    return VoxelSet(voxels, torch.zeros(DATA_SHAPES, dtype=torch.long), ("random",), "bench:random")


def bench_recipe(batch: int, **changes: Any) -> GANTrainConfig:
    """The paper recipe at ``batch`` with every step a full D and G step, and the trainer's
    fast defaults (precision "auto", memory_format "auto", fused Adam) unless changed."""
    settings = {"precision": "auto", "d_accuracy_threshold": 1.0, "sample_every": 0, "checkpoint_every": 0, **changes}
    return GAN_RECIPES.get("paper").replace(batch_size=batch, **settings)


class ReferenceStep:
    """A plain 3D-GAN training step as typical reimplementations write it (see the module docstring).

    ``reuse_fake`` and ``freeze_d`` switch on two of the project's optimisations in this
    otherwise plain step, for the ablation.
    """

    def __init__(
        self, config: GANConfig, recipe: GANTrainConfig, data: VoxelSet, reuse_fake: bool = False, freeze_d: bool = False,
        device: str = "cpu",
    ) -> None:  # fmt: skip
        torch.manual_seed(recipe.seed)
        self.device = torch.device(device)
        model = ShapeGAN(config).to(self.device)  # fp32, contiguous, train mode
        self.generator, self.discriminator = model.generator.train(), model.discriminator.train()
        betas = (recipe.adam_beta1, recipe.adam_beta2)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=recipe.lr_generator, betas=betas, foreach=False)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=recipe.lr_discriminator, betas=betas, foreach=False)
        self.config, self.recipe, self.voxels = config, recipe, data.voxels.to(self.device)
        self.reuse_fake, self.freeze_d = reuse_fake, freeze_d
        self.rng = torch.Generator().manual_seed(recipe.seed)

    def train_step(self) -> tuple[float, float]:
        b = self.recipe.batch_size
        index = torch.randint(0, len(self.voxels), (b,), generator=self.rng).to(self.device)
        real = self.voxels[index].float().unsqueeze(1)  # (B, 1, R, R, R)
        z = torch.rand(b, self.config.latent_dim, generator=self.rng).to(self.device)  # the paper's uniform prior
        ones, zeros = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)

        fake = self.generator(z)  # (B, 1, R, R, R)
        p_real = torch.sigmoid(self.discriminator(real))
        p_fake = torch.sigmoid(self.discriminator(fake.detach()))
        loss_d = F.binary_cross_entropy(p_real, ones) + F.binary_cross_entropy(p_fake, zeros)
        d_accuracy = ((p_real > 0.5).float().mean() + (p_fake < 0.5).float().mean()).item() / 2
        if d_accuracy <= self.recipe.d_accuracy_threshold:
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()

        if not self.reuse_fake:
            fake = self.generator(z)
        self.discriminator.requires_grad_(not self.freeze_d)
        loss_g = F.binary_cross_entropy(torch.sigmoid(self.discriminator(fake)), ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.discriminator.requires_grad_(True)
        return loss_d.item(), loss_g.item()


def time_interleaved(runners: dict[str, Callable[[], object]], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each runner: ``warmup`` untimed rounds, then ``repeats`` timed
    rounds, each round calling every runner once in turn (so load changes hit all alike).
    On a GPU each call is timed to the end of its kernels."""
    for _ in range(warmup):
        for run in runners.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            _synchronise()
            started = time.perf_counter()
            run()
            _synchronise()
            times[name].append(time.perf_counter() - started)
    return times


def side_report(seconds: list[float], batch: int, model_flops: float, peaks: dict[str, float]) -> dict[str, Any]:
    median = statistics.median(seconds)
    gflops = model_flops / median / 1e9
    return {
        "samples_per_second": round(batch / median, 3),
        "seconds_per_step_median": round(median, 4),
        "seconds_per_step": [round(s, 4) for s in seconds],
        "model_gflops_per_second": round(gflops, 1),
        "fraction_of_fp32_peak": round(gflops / peaks["fp32"], 3),
        "fraction_of_bf16_peak": round(gflops / peaks["bf16"], 3),
    }


def trainer_settings(trainer: GANTrainer) -> dict[str, Any]:
    cfg = trainer.train_config
    return {
        "recipe": cfg.recipe,
        "d_accuracy_threshold": cfg.d_accuracy_threshold,
        **trainer.resolved_config()["resolved"],
        "compile": cfg.compile,
        "generator_forward_passes_per_step": 1,
        "d_weight_grads_in_g_step": False,
        "g_step_scores_real_batch": False,
    }


def bench_preset(name: str, args: argparse.Namespace, peaks: dict[str, float], run_root: Path) -> dict[str, Any]:
    config = get_preset(name)
    batch = args.batch or PRESET_BATCHES[name]
    data = random_shapes(config.resolution)
    flops = step_flops(config, batch)

    def trainer(run: str, cls: type[GANTrainer] = GANTrainer, **changes: Any) -> GANTrainer:
        recipe = bench_recipe(batch, **changes) if args.recipe == "paper" else GAN_RECIPES.get(args.recipe).replace(
            batch_size=batch, sample_every=0, checkpoint_every=0, **changes
        )
        model_config = recipe_architecture(args.recipe, config)
        return cls(model_config, recipe, data, run_root / f"{name}-{run}", device=args.device, progress=False)

    project = trainer("project")
    reference = ReferenceStep(config, bench_recipe(batch), data, device=str(project.device))
    runners: dict[str, Callable[[], object]] = {"project": project.train_step, "reference": reference.train_step}
    times = time_interleaved(runners, args.warmup, args.repeats)
    report: dict[str, Any] = {
        "batch": batch,
        "model_gflop_per_step": round(flops["model"] / 1e9, 2),
        "reference_executed_gflop_per_step": round(flops["reference_executed"] / 1e9, 2),
        "project": {**side_report(times["project"], batch, flops["model"], peaks), "settings": trainer_settings(project)},
        "reference": {
            **side_report(times["reference"], batch, flops["model"], peaks),
            "settings": {"precision": "fp32", "memory_format": "contiguous", "optimizer": "torch.optim.Adam(foreach=False)",
                         "loss": "F.binary_cross_entropy(sigmoid(D(x)))", "generator_forward_passes_per_step": 2,
                         "d_weight_grads_in_g_step": True, "d_accuracy_threshold": 1.0},  # fmt: skip
        },
    }
    report["speedup"] = round(report["project"]["samples_per_second"] / report["reference"]["samples_per_second"], 3)
    if args.ablation:
        report["ablation"] = ablation(name, args, trainer, config, batch, data)
    return report


def ablation(name: str, args: argparse.Namespace, trainer: Callable[..., GANTrainer], config: GANConfig, batch: int, data: VoxelSet) -> dict[str, Any]:
    """Each optimisation's gain: speed with everything on / speed with only it off."""
    plain = {"precision": "fp32", "memory_format": "contiguous", "fused_optimizer": False}
    variants: dict[str, Callable[[], object]] = {
        "all_on": trainer("all-on").train_step,
        "without_bf16": trainer("no-bf16", precision="fp32").train_step,
        "without_channels_last": trainer("no-cl", memory_format="contiguous").train_step,
        "without_fused_adam": trainer("no-fused", fused_optimizer=False).train_step,
        "all_off": trainer("all-off", **plain).train_step,
        "reference": ReferenceStep(config, bench_recipe(batch), data, device=args.device).train_step,
        "reference_with_fake_reuse": ReferenceStep(config, bench_recipe(batch), data, reuse_fake=True, device=args.device).train_step,
        "reference_with_frozen_d": ReferenceStep(config, bench_recipe(batch), data, freeze_d=True, device=args.device).train_step,
    }
    times = time_interleaved(variants, args.warmup, args.repeats)
    median = {k: statistics.median(v) for k, v in times.items()}
    out: dict[str, Any] = {
        "seconds_per_step_median": {k: round(v, 4) for k, v in median.items()},
        "gain": {
            "bf16_autocast": round(median["without_bf16"] / median["all_on"], 3),
            "channels_last_3d": round(median["without_channels_last"] / median["all_on"], 3),
            "fused_adam": round(median["without_fused_adam"] / median["all_on"], 3),
            "all_trainer_settings": round(median["all_off"] / median["all_on"], 3),
            "fake_batch_reuse_on_reference": round(median["reference"] / median["reference_with_fake_reuse"], 3),
            "frozen_d_in_g_step_on_reference": round(median["reference"] / median["reference_with_frozen_d"], 3),
        },
        "gain_means": "seconds per step without the optimisation / with it (> 1: it helps)",
    }
    if args.compile:
        compiled = trainer("compile", compile=True)
        started = time.perf_counter()
        for _ in range(3):  # D and G graphs, train-mode and frozen-D variants
            compiled.train_step()
        first_steps = time.perf_counter() - started
        times = time_interleaved({"all_on": variants["all_on"], "compile": compiled.train_step}, 1, args.repeats)
        eager, fast = statistics.median(times["all_on"]), statistics.median(times["compile"])
        out["compile"] = {
            "gain": round(eager / fast, 3),
            "compile_seconds": round(first_steps - 3 * fast, 1),
            "steps_to_pay_back": None if fast >= eager else round((first_steps - 3 * fast) / (eager - fast)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper-32,paper-64", help="comma-separated: paper-32 (batch 32), paper-64 (batch 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per side (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side first")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 warm-up and 2 timed steps per side")
    parser.add_argument("--ablation", action="store_true", help="also time each optimisation turned off alone")
    parser.add_argument("--compile", action="store_true", help="with --ablation: also time compile=True (compiles for minutes)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto: where both sides run")
    parser.add_argument("--recipe", default="paper", help="the project side's recipe (paper, fast, robust; default paper)")
    parser.add_argument("--batch", type=int, help="batch size of every preset (default: 32 for paper-32, 8 for paper-64)")
    args = parser.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.quick:
        args.warmup, args.repeats = 1, 2
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRESET_BATCHES]
    if unknown:
        parser.error(f"--presets: unknown {unknown}; choose from {', '.join(PRESET_BATCHES)}")
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")

    torch.set_num_threads(os.cpu_count() or 1)
    load_at_start = os.getloadavg()[0]
    peaks = {"fp32": matmul_peak(torch.float32, device=args.device), "bf16": matmul_peak(torch.bfloat16, device=args.device)}
    with tempfile.TemporaryDirectory() as run_root:
        results = {name: bench_preset(name, args, peaks, Path(run_root)) for name in presets}
    met = {}
    for name, r in results.items():
        met[f"{name}_speedup"] = r["speedup"] >= TARGETS["speedup_min"]
        met[f"{name}_fraction_of_bf16_peak"] = r["project"]["fraction_of_bf16_peak"] >= TARGETS["fraction_of_bf16_peak_min"]
    report = {
        "machine": {
            "cpu_cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu_has_native_bf16(),
            "load_average_1min_at_start": round(load_at_start, 2),
        },
        "note": "run on an otherwise idle machine: other load slows both interleaved sides alike (the speedup "
                "stays fair) but not the peak, which is measured at another moment",
        "peak_gflops_per_second": {k: round(v, 1) for k, v in peaks.items()},
        "peak_measured_as": "best of 5 torch.mm of n x n matrices, n in (2048, 4096), all cores",
        "flops_counted": "model FLOPs of one step, 2 per conv multiply-add: G forward once, D forward on real + generated "
                         "(D step) and generated (G step), D backward weight + input grads (no input grad for D's first "
                         "layer) in D's step, D input grads only in G's step, G weight + input grads (none for z); "
                         "BatchNorm, activations, losses, optimiser not counted; the same count for both sides",
        "warmup_steps": args.warmup,
        "timed_steps": args.repeats,
        "presets": results,
        "targets": TARGETS,
        "met": met,
    }  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

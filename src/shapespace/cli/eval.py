"""``shapespace eval gen | classify | recon`` and ``report``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shapespace.cli.args import (
    add_device_flag,
    add_json_flag,
    add_output_flag,
    add_progress_flag,
    add_samples_flag,
    add_source_flags,
    fraction,
    non_negative_int,
    parameter_namer,
    positive_float,
    positive_int,
    report_skipped,
    selection_from,
)
from shapespace.errors import ShapespaceError
from shapespace.pipelines.evaluation import DEFAULT_MAX_REFERENCE


def cmd_eval_gen(args: argparse.Namespace) -> int:
    from shapespace.pipelines.evaluation import evaluate_generation

    def notice(line: str) -> None:  # in the command's words: `n` is --n
        print(ShapespaceError(line).describe(parameter_namer(args.flag_names)), file=sys.stderr)

    selection = selection_from(args)
    result = evaluate_generation(
        args.data, checkpoint=args.checkpoint, samples_file=args.samples_file, n=args.n, selection=selection,
        seed=args.seed, n_points=args.points, device=args.device, out=args.out, progress=not args.no_progress, notice=notice,
    )  # fmt: skip
    report_skipped(result["skipped_files"])
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['n_samples']} samples against {result['n_reference']} reference shapes ({args.data}, split {selection.split})")
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

    result = evaluate_classification(
        args.checkpoint, args.data, selection=selection_from(args), c=args.c, device=args.device, out=args.out,
        progress=not args.no_progress,
    )  # fmt: skip
    report_skipped(result["skipped_files"])
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"linear SVM on D features ({result['features']}): {result['n_train']} train / {result['n_test']} test shapes of {args.data}")
    for name, accuracy in result["per_class_accuracy"].items():
        print(f"  {name:<14} {accuracy:7.1%}")
    print(f"overall accuracy {result['overall_accuracy']:.1%} (paper, ModelNet10: 91.0%); mean per class {result['mean_class_accuracy']:.1%}")
    return 0


def cmd_eval_recon(args: argparse.Namespace) -> int:
    from shapespace.pipelines.reconstruction import evaluate_ikea, format_ikea_table, parse_class_models

    result = evaluate_ikea(
        parse_class_models(args.checkpoint), args.ikea, device=args.device, threshold=args.threshold, out=args.out, progress=not args.no_progress,
        samples=args.samples, mirror=args.mirror, class_prior=args.class_prior,
    )  # fmt: skip
    print(json.dumps(result, indent=2) if args.json else format_ikea_table(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from shapespace.pipelines.report import build_report

    path = build_report(args.run_dir, out=args.out, device=args.device)
    print(json.dumps({"report": str(path)}, indent=2))
    return 0


def _add_result_flags(p: argparse.ArgumentParser) -> None:
    add_output_flag(p, kind="file", help="also write the result as JSON to this file")
    add_json_flag(p)
    add_device_flag(p)
    add_progress_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="measure a model: generation quality, D's features, reconstruction")
    eval_sub = evaluate.add_subparsers(dest="eval_kind", metavar="WHAT", required=True)
    p = eval_sub.add_parser("gen", help="MMD, COV, 1-NNA (Chamfer and 1-IoU), JSD and memorisation against a reference set")
    p.add_argument("checkpoint", nargs="?", type=Path, help="run or model folder to sample from (or use --samples)")
    p.add_argument("--samples", dest="samples_file", type=Path, help="an .npy array (N, R, R, R) of occupancies in the canonical frame, from any model")
    # dest "data": the library names a data source `data`, which this command calls --ref.
    p.add_argument("--ref", dest="data", metavar="REF", required=True,
                   help="reference shapes: a data specification (cache, folder, builtin:<class>)")  # fmt: skip
    p.add_argument("--n", type=positive_int,
                   help=f"shapes per set (default: the reference split's size, at most {DEFAULT_MAX_REFERENCE}: "
                        "Chamfer distances grow as n^2, a few minutes for 200 shapes on 2 cores, hours for 1,000)")  # fmt: skip
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of latents, subsets and surface points (default 0)")
    p.add_argument("--points", type=positive_int, default=2048, help="surface points per shape for Chamfer and JSD (default 2048)")
    _add_result_flags(p)
    add_source_flags(p, split_default="test")
    p.set_defaults(func=cmd_eval_gen)

    p = eval_sub.add_parser("classify", help="the paper's experiment: a linear SVM on D's features, train split -> test split")
    p.add_argument("checkpoint", type=Path, help="run or model folder of a trained 3D-GAN")
    p.add_argument("--data", required=True, help="shapes with train and test splits, e.g. ModelNet10 (a cache or folder)")
    p.add_argument("--c", type=positive_float, default=0.01, help="SVM regularisation C on standardised features (default 0.01)")
    _add_result_flags(p)
    add_source_flags(p, split_default=None)
    p.set_defaults(func=cmd_eval_classify)

    p = eval_sub.add_parser("recon", help="the paper's IKEA protocol: AP at 20^3 per class, IoU, and a mean-shape baseline")
    p.add_argument("checkpoint", nargs="+", metavar="RUN",
                   help="run or model folder of a trained 3D-VAE-GAN; several, an ensemble (each photo's shape is the mean of "
                        "their reconstructions); or CLASS=RUN items, one model per class (the paper's 'separately' row): "
                        "each class's photos go to its model, photos of classes not given are left out")  # fmt: skip
    p.add_argument("--ikea", type=Path, required=True, help="IKEA folder (Images/, Voxels/, Lists/ or the 3D-GAN release's layout)")
    p.add_argument("--threshold", type=fraction, default=0.5, help="occupancy threshold for IoU (default 0.5)")
    add_samples_flag(p)
    _add_result_flags(p)
    p.set_defaults(func=cmd_eval_recon)

    p = sub.add_parser("report", help="one self-contained HTML page for a run: curves, samples, interpolation, evaluations")
    p.add_argument("run_dir", type=Path, help="a run folder from `train gan`")
    add_output_flag(p, kind="file", help="HTML file to write (default RUN_DIR/report.html)")
    add_device_flag(p, default="cpu")
    p.set_defaults(func=cmd_report)

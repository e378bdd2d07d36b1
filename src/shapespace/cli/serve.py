"""``shapespace serve``: the web demo (:mod:`shapespace.web`) for one trained model."""

from __future__ import annotations

import argparse
from pathlib import Path

from shapespace.cli.args import add_device_flag, checked
from shapespace.config import in_range

port_number = checked(int, in_range(1, 65535))


def cmd_serve(args: argparse.Namespace) -> int:
    from shapespace.web.app import serve

    serve(args.checkpoint, host=args.host, port=args.port, device=args.device)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="a web page to sample, interpolate and reconstruct shapes with a trained model (Gradio)")
    p.add_argument("checkpoint", type=Path, metavar="RUN_OR_MODEL", help="run folder, model folder, or the output folder of 'shapespace demo'")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=port_number, default=7860, help="port to listen on (default 7860)")
    add_device_flag(p)
    p.set_defaults(func=cmd_serve)

"""Figures from rendered pictures: mosaics of equally sized images with labels, and PNG files.

"Mosaic" names a tiling of 2D images here; "grid" always means a voxel grid in shapespace.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.frame import DEFAULT_THRESHOLD
from shapespace.io.atomic import atomic_path
from shapespace.rendering.preview import BACKGROUND, render_voxels


def image_mosaic(
    images: np.ndarray | Sequence[np.ndarray],
    ncols: int,
    pad: int = 4,
    background: Sequence[int] = BACKGROUND,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Tile equally sized images row by row into one picture.

    With ``n`` images, ``c = min(ncols, n)`` columns and ``r = ceil(n / c)`` rows of tiles of
    ``H x W`` pixels, the result is ``r * (H + L) + (r + 1) * pad`` pixels high and
    ``c * W + (c + 1) * pad`` wide, where ``L`` is the height of the label band below each
    tile (0 without labels). Unused cells and gaps are ``background``.

    Args:
        images: UInt8Array of shape (N, H, W, 3) or (H, W, 3), or a sequence of (H, W, 3) arrays.
        ncols: maximum number of tiles per row (at least 1).
        pad: gap in pixels between tiles and around the border (at least 0).
        background: RGB colour of gaps, 0-255.
        labels: optional text per image, drawn centred under its tile with Pillow's default font.

    Returns:
        UInt8Array of shape (height, width, 3).
    """
    stack = _as_image_stack(images)
    count, tile_h, tile_w = stack.shape[:3]
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ConfigError(f"ncols must be a positive integer, got {ncols!r}")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ConfigError(f"pad must be a non-negative integer, got {pad!r}")
    fill = _check_background(background)
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != count:
            raise ConfigError(f"got {len(labels)} labels for {count} images")
    font = ImageFont.load_default() if labels is not None else None
    label_h = _label_height(font) if font is not None else 0

    cols = min(int(ncols), count)
    rows = math.ceil(count / cols)
    height = rows * (tile_h + label_h) + (rows + 1) * pad
    width = cols * tile_w + (cols + 1) * pad
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = fill
    for index in range(count):
        row, col = divmod(index, cols)
        top = pad + row * (tile_h + label_h + pad)
        left = pad + col * (tile_w + pad)
        canvas[top : top + tile_h, left : left + tile_w] = stack[index]
    if labels is None or font is None:
        return canvas

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    ink = (60, 60, 60) if int(fill.astype(np.int64).sum()) > 384 else (220, 220, 220)
    for index, label in enumerate(labels):
        row, col = divmod(index, cols)
        text = _fit_text(draw, font, label, tile_w)
        text_w = draw.textlength(text, font=font)
        x = pad + col * (tile_w + pad) + (tile_w - text_w) / 2
        y = pad + row * (tile_h + label_h + pad) + tile_h + 1
        draw.text((x, y), text, fill=ink, font=font)
    return np.asarray(picture, dtype=np.uint8).copy()


def render_mosaic(
    volumes: np.ndarray | torch.Tensor,
    ncols: int | None = None,
    size: int = 160,
    threshold: float = DEFAULT_THRESHOLD,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Render shapes with :func:`.preview.render_voxels` and tile them with :func:`image_mosaic`.

    Args:
        volumes: (N, R, R, R), (N, 1, R, R, R) or a single (R, R, R) grid.
        ncols: tiles per row; default ``ceil(sqrt(N))``. Use ``ncols=N`` for a one-row strip.
        size: tile size in pixels.
        threshold: iso-level.
        labels: optional text under each tile.

    Returns:
        UInt8Array of shape (height, width, 3).
    """
    images = render_voxels(volumes, size=size, threshold=threshold)
    if images.ndim == 3:
        images = images[None]
    if len(images) == 0:
        raise DataError("render_mosaic got no volumes to draw")
    if ncols is None:
        ncols = math.ceil(math.sqrt(len(images)))
    return image_mosaic(images, ncols=ncols, labels=labels)


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a UInt8Array of shape (H, W, 3) as a PNG file, atomically; return the path."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise DataError(f"{path}: expected a uint8 image of shape (H, W, 3), got {array.dtype} {array.shape}")
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path


# -- helpers --------------------------------------------------------------------------


def _check_background(background: Sequence[int]) -> np.ndarray:
    values = np.asarray(background)
    if values.shape != (3,) or not np.all((values >= 0) & (values <= 255)):
        raise ConfigError(f"background must be three RGB values in 0-255, got {background!r}")
    return values.astype(np.uint8)


def _as_image_stack(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """(N, H, W, 3), (H, W, 3) or a sequence of (H, W, 3) -> UInt8Array of shape (N, H, W, 3)."""
    if isinstance(images, np.ndarray):
        stack = images[None] if images.ndim == 3 else images
    else:
        tiles = [np.asarray(tile) for tile in images]
        if not tiles:
            raise DataError("image_mosaic got no images")
        if len({tile.shape for tile in tiles}) != 1:
            raise DataError(f"images must all have the same shape, got {sorted({tile.shape for tile in tiles})}")
        stack = np.stack(tiles)
    if stack.ndim != 4 or stack.shape[3] != 3:
        raise DataError(f"images must have shape (N, H, W, 3) or (H, W, 3), got {stack.shape}")
    if stack.dtype != np.uint8:
        raise DataError(f"images must be uint8, got {stack.dtype}")
    if len(stack) == 0:
        raise DataError("image_mosaic got no images")
    return stack


def _label_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    _left, top, _right, bottom = font.getbbox("Ag")
    return int(bottom - min(top, 0)) + 4


def _fit_text(
    draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str, width: int
) -> str:
    """Shorten ``text`` with a trailing '...' until it fits in ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..." if text else ""

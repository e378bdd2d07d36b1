"""A cache of rendered (photo, voxel shape) pairs of textured furniture, for the 3D-VAE-GAN.

``shapespace data photos SOURCE --out CACHE`` renders every item of a Sweet Home 3D source
(:mod:`shapespace.data.sweethome`) ``views`` times in random rooms
(:mod:`shapespace.rendering.scenes`) and voxelises it once. ``train vae-gan --photo-cache
CACHE`` then draws part of every batch from it (:class:`PhotoPairs`).

The folder::

    photo-cache.json       what was rendered: source, settings, seed, the shapes with their
                           class and credit, and whether every shape is done ("complete")
    shapes.npy             UInt8Array (N, R, R, R): the voxel targets, canonical frame
    labels.npy             Int64Array (N,): class indices into "classes"
    images/00012.npy       UInt8Array (views, S, S, 3): the pictures of shape 12
    aspects/00012.npy      Float32Array (views,): each picture's crop aspect ratio (width /
                           height of the window around the object before it was stretched
                           to the square picture; version 2 on)
    preview.png            the first picture of up to 64 shapes

Rendering runs in worker processes, one OpenGL context each, with a progress bar. Each
shape's pictures are written atomically; running the same command again continues where it
stopped (a file that is missing or does not load is rendered again). Picture ``v`` of shape
``i`` depends only on (seed, i, v), so an interrupted and a straight run give the same cache.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from shapespace.errors import DataError
from shapespace.io.atomic import write_text_atomic, write_with_atomic
from shapespace.io.jsonfile import read_json
from shapespace.rendering.scenes import SceneSettings

PHOTO_CACHE_FORMAT = "shapespace photo cache"
# Version 2 adds aspects/; version-1 caches still open for training, without aspects.
PHOTO_CACHE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
META_NAME = "photo-cache.json"
JAR_NAME = "sweethome3d.jar"
# The fields of the description that must match for a run to continue a cache.
_SAME_FOR_RESUME = ("version", "revision", "source", "textures", "files", "resolution", "size", "views", "seed", "classes_requested", "scene")
# The fields that define a cache's pairs (its "id", which training runs record).
_DEFINING = (*_SAME_FOR_RESUME, "classes", "count", "shapes")


def is_photo_cache(path: str | os.PathLike) -> bool:
    return (Path(path) / META_NAME).is_file()


def find_textures(source: str | os.PathLike) -> Path:
    """``sweethome3d.jar`` (the room textures) in or beside ``source``.

    Raises:
        DataError: naming where it looked.
    """
    source = Path(source)
    folder = source if source.is_dir() else source.parent
    for candidate in (folder / JAR_NAME, *sorted(folder.rglob(JAR_NAME))):
        if candidate.is_file():
            return candidate
    raise DataError(f"{source}: no {JAR_NAME} in {folder} for the floor and wall textures; give it with `textures` (make fetch-furniture fetches it)")


def _file_stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def photo_cache_id(meta: dict) -> str:
    """A hash of what defines a cache's pairs (settings, revision, input files, shapes): two
    caches with the same id hold the same pictures and shapes."""
    import hashlib

    defining = {key: meta.get(key) for key in _DEFINING}
    # Hashed as version 1 wrote it: version 2 holds the same pairs (it adds their aspect
    # ratios), so a cache brought up to date keeps its id and the training runs that
    # recorded it can still resume on it.
    defining["version"] = 1
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:16]


def _image_path(root: Path, index: int) -> Path:
    return root / "images" / f"{index:05d}.npy"


def _aspect_path(root: Path, index: int) -> Path:
    return root / "aspects" / f"{index:05d}.npy"


def _valid_images(path: Path, views: int, size: int) -> bool:
    try:
        images = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return False
    return images.shape == (views, size, size, 3) and images.dtype == np.uint8


def _load_aspects(path: Path, views: int) -> np.ndarray | None:
    """A shape's crop aspect ratios, Float32Array (views,), or None when missing or damaged."""
    try:
        aspects = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if aspects.shape != (views,) or aspects.dtype != np.float32 or not (np.isfinite(aspects).all() and (aspects > 0).all()):
        return None
    return aspects


def _shape_done(root: Path, index: int, views: int, size: int) -> bool:
    return _load_aspects(_aspect_path(root, index), views) is not None and _valid_images(_image_path(root, index), views, size)


# -- worker processes ---------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _start_worker(paths: Sequence[str], size: int, textures: str, scene: dict, seed: int, views: int, root: str, threads: int | None) -> None:
    if threads is not None:  # llvmpipe's threads per process, read when the context is made
        os.environ["LP_NUM_THREADS"] = str(threads)
    from shapespace.io.sweethome import load_item_scene
    from shapespace.rendering.scenes import SceneRenderer, read_room_textures

    renderer = SceneRenderer(size, lambda i: load_item_scene(paths[i]), len(paths), read_room_textures(textures), SceneSettings.from_dict(scene))
    _WORKER.update(renderer=renderer, paths=paths, seed=seed, views=views, root=Path(root))


def _stop_worker() -> None:
    renderer = _WORKER.pop("renderer", None)
    if renderer is not None:
        renderer.release()
    _WORKER.clear()


def _render_shape(index: int) -> int:
    renderer, seed, views, root = _WORKER["renderer"], _WORKER["seed"], _WORKER["views"], _WORKER["root"]
    try:
        pictures = [renderer.render(index, seed, view) for view in range(views)]
    except Exception as error:  # name the shape; a worker's traceback would not
        raise DataError(f"{_WORKER['paths'][index]}: could not be rendered ({error})") from None
    images = np.stack([image for image, _ in pictures])
    aspects = np.array([aspect for _, aspect in pictures], dtype=np.float32)
    write_with_atomic(_aspect_path(root, index), lambda tmp: np.save(tmp, aspects, allow_pickle=False))
    write_with_atomic(_image_path(root, index), lambda tmp: np.save(tmp, images, allow_pickle=False))
    return index


def render_pictures(
    paths: Sequence[str], todo: Sequence[int], root: Path, size: int, textures: Path, scene: SceneSettings,
    seed: int, views: int, workers: int, progress: bool,
) -> None:  # fmt: skip
    """Render the pictures of shapes ``todo`` into ``root/images``, and their aspect ratios into
    ``root/aspects`` (in ``workers`` processes; 0: here).

    Raises:
        DataError: naming the shape that failed, or saying that a worker process died.
    """
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="data photos", unit="shape", disable=not progress)
    try:
        if workers == 0:
            _start_worker(list(paths), size, str(textures), scene.to_dict(), seed, views, str(root), None)
            try:
                for index in todo:
                    _render_shape(index)
                    bar.update()
            finally:
                _stop_worker()
            return
        # Spawned (a GL context must not cross a fork). Unlike multiprocessing.Pool, the
        # executor fails (BrokenProcessPool) instead of waiting forever when a worker dies.
        args = (list(paths), size, str(textures), scene.to_dict(), seed, views, str(root), 1)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=args) as pool:
            pending = {pool.submit(_render_shape, index) for index in todo}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        future.result()
                        bar.update()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    except BrokenProcessPool as error:
        raise DataError(f"a rendering process died ({error}); the pictures done so far are kept: run the same command again to continue") from None
    finally:
        bar.close()


def _preview(root: Path, count: int, size: int) -> None:
    from PIL import Image

    shown = min(count, 64)
    columns = min(shown, 8)
    rows = -(-shown // columns)
    grid = np.full((rows * size, columns * size, 3), 255, np.uint8)
    for k in range(shown):
        image = np.load(_image_path(root, k), mmap_mode="r")[0]
        grid[(k // columns) * size : (k // columns + 1) * size, (k % columns) * size : (k % columns + 1) * size] = image
    write_with_atomic(root / "preview.png", lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))


def prepare_photo_cache(
    source: str,
    out: str | os.PathLike,
    resolution: int = 32,
    size: int = 128,
    views: int = 48,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    textures: str | os.PathLike | None = None,
    scene: SceneSettings = SceneSettings(),
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Render and voxelise a Sweet Home 3D source into a photo cache at ``out`` (the module's layout).

    Args:
        source: a ``.sh3f`` library, ``sweethome3d.jar`` or a folder of them.
        resolution: the voxel targets' grid size.
        size: the pictures' side in pixels.
        views: pictures per shape.
        classes: only these of the six classes (None: all).
        textures: ``sweethome3d.jar`` for the room textures (None: found in or beside the source).
        workers: rendering processes (None: every core; 0: in this process). They are
            spawned, so a script that calls this with workers must keep its own work under
            ``if __name__ == "__main__":`` (each worker imports the script again).
        overwrite: replace a cache rendered with other settings (one with the same settings
            is always continued, also one of the older format version 1, whose shapes are
            then rendered again to record their aspect ratios).

    Returns:
        The description written to ``photo-cache.json``.

    Raises:
        DataError: for a source without furniture, a missing texture jar, or an existing
            cache with other settings (without ``overwrite``), naming it.
    """
    from shapespace import __version__
    from shapespace.data.sources import DataSelection
    from shapespace.data.sweethome import find_libraries, is_library, list_furniture
    from shapespace.rendering.gl import GLRenderer
    from shapespace.rendering.scenes import RENDER_REVISION, read_room_textures

    out = Path(out)
    source_path = Path(source)
    if not (is_library(source_path) or source_path.is_dir()):
        raise DataError(f"{source}: not a Sweet Home 3D library (.sh3f, sweethome3d.jar) or a folder of them")
    source_path = source_path.resolve()  # shape paths then read the same from any folder
    libraries = find_libraries(source_path) if source_path.is_dir() else [source_path]
    if not libraries:
        raise DataError(f"{source}: holds no Sweet Home 3D library (.sh3f or .jar); make fetch-furniture fetches them")
    texture_jar = (Path(textures) if textures is not None else find_textures(source_path)).resolve()
    read_room_textures(texture_jar)  # fails here, naming the jar, rather than in every worker
    GLRenderer(8).release()  # the same for a missing moderngl or EGL

    meta = {
        "format": PHOTO_CACHE_FORMAT,
        "version": PHOTO_CACHE_VERSION,
        "revision": RENDER_REVISION,
        "shapespace": __version__,
        "source": str(source_path),
        "textures": str(texture_jar),
        # Size and modification time of every file read: a changed library or jar is a new cache.
        "files": {str(p): _file_stamp(p) for p in [*libraries, texture_jar]},
        "resolution": resolution,
        "size": size,
        "views": views,
        "seed": seed,
        "classes_requested": None if classes is None else sorted(classes),
        "scene": scene.to_dict(),
    }
    # What can be compared before any work: the folder, and the settings of a cache in it.
    old = None
    if out.exists():
        if not is_photo_cache(out):
            raise DataError(f"`out` {out}: exists and is not a photo cache; refusing to replace it")
        try:
            old = read_json(out / META_NAME, "photo cache description")
        except DataError:
            if not overwrite:
                raise
        differ = ["description"] if old is None else [k for k in _SAME_FOR_RESUME if old.get(k) != meta[k]]
        if old is not None and old.get("version") in _READABLE_VERSIONS:
            # An older format of the same pictures is continued: every shape whose files it
            # lacks (a version-1 cache's aspects) is rendered again, to the same pictures.
            differ = [k for k in differ if k != "version"]
        if differ and not overwrite:
            raise DataError(f"`out` {out}: a photo cache rendered with other {', '.join(differ)}; pass `overwrite` to render it anew")
        if differ:
            shutil.rmtree(out)
            old = None

    data = DataSelection(split="all", classes=None if classes is None else tuple(classes)).load(str(source_path), resolution, progress=progress)
    furniture, _ = list_furniture(libraries)
    credits = {str(shape.path): dict(shape.credit) for shape in furniture}
    meta |= {
        "classes": list(data.classes),
        "count": len(data),
        "shapes": [
            {"path": path, "class": data.classes[int(label)], "credit": credits.get(path, {})} for path, label in zip(data.paths, data.labels)
        ],
        "complete": False,
    }
    if old is not None and old.get("shapes") != meta["shapes"]:
        if not overwrite:
            raise DataError(f"`out` {out}: a photo cache rendered with other shapes; pass `overwrite` to render it anew")
        shutil.rmtree(out)
    meta["id"] = photo_cache_id(meta)
    for folder in ("images", "aspects"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out / folder).glob(".*.tmp*"):  # left by a process killed while writing
            stale.unlink(missing_ok=True)
    write_with_atomic(out / "shapes.npy", lambda tmp: np.save(tmp, data.voxels[:].numpy().astype(np.uint8), allow_pickle=False))
    write_with_atomic(out / "labels.npy", lambda tmp: np.save(tmp, data.labels.numpy().astype(np.int64), allow_pickle=False))
    write_text_atomic(out / META_NAME, json.dumps(meta, indent=1) + "\n")

    todo = [i for i in range(len(data)) if not _shape_done(out, i, views, size)]
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, len(todo)) if workers is None else workers
    if todo:
        render_pictures(data.paths, todo, out, size, texture_jar, scene, seed, views, workers, progress)
    _preview(out, len(data), size)
    meta["complete"] = True
    write_text_atomic(out / META_NAME, json.dumps(meta, indent=1) + "\n")
    meta["rendered"] = len(todo)
    return meta


@dataclass(frozen=True)
class PhotoPairs:
    """An opened, complete photo cache: every picture with the index of its shape.

    Attributes:
        path: the cache folder.
        images: UInt8Array (N * views, S, S, 3), shape by shape.
        aspects: Float32Array (N * views,): each picture's crop aspect ratio (width /
            height before the stretch to the square); None for a version-1 cache.
        shape_of: Int64Array (N * views,): the shape of each picture.
        voxels: UInt8Array (N, R, R, R).
        labels: Int64Array (N,).
        meta: the description.
    """

    path: Path
    images: np.ndarray
    aspects: np.ndarray | None
    shape_of: np.ndarray
    voxels: np.ndarray
    labels: np.ndarray
    meta: dict

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.voxels.shape[1])

    def __len__(self) -> int:
        return len(self.images)


def open_photo_cache(path: str | os.PathLike, resolution: int | None = None, classes: Sequence[str] | None = None) -> PhotoPairs:
    """Load a photo cache into memory, refusing an incomplete, damaged or mismatched one.

    Args:
        resolution: the grid size the caller needs (None: any).
        classes: load only the shapes of these classes (None: all). The result's labels
            index its ``meta["classes"]``, which lists these classes in sorted order;
            ``meta["count"]`` counts the shapes kept and ``meta["shapes"]`` describes them.

    Raises:
        DataError: naming the file and what is wrong, or a class the cache lacks.
    """
    path = Path(path)
    meta_path = path / META_NAME
    meta = read_json(meta_path, "photo cache description")
    if meta.get("format") != PHOTO_CACHE_FORMAT or meta.get("version") not in _READABLE_VERSIONS:
        raise DataError(
            f"{meta_path}: not a shapespace photo cache of a version this shapespace reads "
            f"({', '.join(map(str, _READABLE_VERSIONS))}; shapespace data photos makes one)"
        )
    try:
        count, views, size, res = int(meta["count"]), int(meta["views"]), int(meta["size"]), int(meta["resolution"])
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{meta_path}: damaged photo cache description ({error})") from None
    if not meta.get("complete"):
        raise DataError(f"{path}: the photo cache is incomplete (its rendering stopped); run the same `shapespace data photos` command again to finish it")
    if resolution is not None and res != resolution:
        raise DataError(f"{path}: the photo cache holds {res}^3 shapes but {resolution}^3 are needed; render one with `resolution` {resolution}")
    try:
        voxels = np.load(path / "shapes.npy", allow_pickle=False)
        labels = np.load(path / "labels.npy", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: damaged photo cache: shapes.npy or labels.npy does not load ({error})") from None
    if voxels.shape != (count, res, res, res) or labels.shape != (count,):
        raise DataError(f"{path}: damaged photo cache: shapes.npy {voxels.shape} and labels.npy {labels.shape} do not match {count} shapes of {res}^3")
    kept = np.arange(count)
    if classes is not None:
        names = list(meta.get("classes", []))
        unknown = sorted(set(classes) - set(names))
        if unknown or not classes:
            raise DataError(f"{path}: the photo cache has no class {', '.join(unknown) or '(none given)'}; it holds {', '.join(names)}")
        chosen = sorted(set(classes))
        kept = np.flatnonzero(np.isin(labels, [names.index(name) for name in chosen]))
        if not len(kept):
            raise DataError(f"{path}: the photo cache holds no shape of {', '.join(chosen)}")
        labels = np.searchsorted(chosen, np.asarray(names)[labels[kept]])
        shapes = meta.get("shapes", [])
        meta = {**meta, "classes": chosen, "count": len(kept), "classes_selected": chosen}
        if len(shapes) == count:  # the description of each shape kept, in the result's order
            meta["shapes"] = [shapes[i] for i in kept]
        voxels = voxels[kept]
    images = np.empty((len(kept) * views, size, size, 3), np.uint8)
    aspects = np.empty(len(kept) * views, np.float32) if meta["version"] >= 2 else None
    for row, index in enumerate(kept):
        file = _image_path(path, int(index))
        if not _valid_images(file, views, size):
            raise DataError(f"{file}: missing or damaged (expected {views} pictures of {size}x{size}); run `shapespace data photos` again to mend the cache")
        images[row * views : (row + 1) * views] = np.load(file, allow_pickle=False)
        if aspects is not None:
            ratios = _load_aspects(_aspect_path(path, int(index)), views)
            if ratios is None:
                raise DataError(
                    f"{_aspect_path(path, int(index))}: missing or damaged (expected {views} positive aspect ratios); "
                    "run `shapespace data photos` again to mend the cache"
                )
            aspects[row * views : (row + 1) * views] = ratios
    shape_of = np.repeat(np.arange(len(kept)), views)
    return PhotoPairs(path, images, aspects, shape_of, voxels.astype(np.uint8, copy=False), labels.astype(np.int64, copy=False), meta)

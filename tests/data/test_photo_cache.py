"""The photo cache (data/photo_cache.py, `shapespace data photos`): layout, resume, damage,
mismatches, and the pairs `train vae-gan --photo-cache` draws. Small libraries made here.
Skipped, with the install commands, where moderngl or Mesa's EGL is missing."""

import hashlib
import json

import numpy as np
import pytest

from shapespace.data.photo_cache import META_NAME, find_textures, open_photo_cache, prepare_photo_cache
from shapespace.errors import DataError
from shapespace.io.registry import read_shape
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.rendering.gl import GLRenderer, RendererUnavailable
from shapespace.rendering.scenes import SceneSettings
from sweethome_library import furniture_room_library, texture_jar

FAST = SceneSettings(neighbour_chance=0.5, jpeg_quality=(90, 90))


@pytest.fixture(scope="module")
def furniture(tmp_path_factory):
    try:
        GLRenderer(8).release()
    except RendererUnavailable as error:
        pytest.skip(str(error))
    folder = tmp_path_factory.mktemp("furniture")
    furniture_room_library(folder / "Room.sh3f", count=3)
    texture_jar(folder / "sweethome3d.jar")
    return folder


def _prepare(furniture, out, **kw):
    options = dict(resolution=8, size=16, views=3, scene=FAST, workers=0, progress=False) | kw
    return prepare_photo_cache(str(furniture), out, **options)


def test_the_cache_holds_pictures_shapes_classes_and_credits(furniture, tmp_path):
    meta = _prepare(furniture, tmp_path / "photos")
    assert meta["complete"] and meta["rendered"] == 3 and meta["count"] == 3 and meta["classes"] == ["chair", "table"]
    assert [s["class"] for s in meta["shapes"]] == ["chair", "chair", "table"]  # by class, as data sets are
    assert meta["shapes"][0]["credit"]["creator"] == "Ada" and meta["shapes"][0]["credit"]["license"] == "CC0"
    pairs = open_photo_cache(tmp_path / "photos", resolution=8)
    assert pairs.images.shape == (9, 16, 16, 3) and pairs.size == 16 and pairs.resolution == 8 and len(pairs) == 9
    assert pairs.shape_of.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and pairs.labels.tolist() == [0, 0, 1]
    # The targets are the reader's grids of the items.
    path = meta["shapes"][2]["path"]
    assert np.array_equal(pairs.voxels[2], read_shape(path, VoxelizeOptions(resolution=8)).astype(np.uint8))
    assert (tmp_path / "photos" / "preview.png").is_file()
    assert len({pairs.images[i].tobytes() for i in range(9)}) == 9  # every picture differs
    # Each picture's crop aspect ratio: the chairs (40 x 40 x 90 cm) are tall, the table
    # (120 x 80 x 75 cm) is wide; the window's margins move a ratio by at most 2x.
    assert meta["version"] == 2 and pairs.aspects.shape == (9,) and pairs.aspects.dtype == np.float32
    assert pairs.aspects[:6].max() < pairs.aspects[6:].min() and pairs.aspects[:6].max() < 1.0


def test_a_version_1_cache_opens_without_aspects_and_an_aspect_encoder_refuses_it(furniture, tmp_path):
    import shutil

    import torch

    from shapespace.data.sources import VoxelSet
    from shapespace.models import GANConfig
    from shapespace.models.encoder import EncoderConfig
    from shapespace.training.vaegan_config import VAE_RECIPES
    from shapespace.training.vaegan_trainer import open_training_cache

    _prepare(furniture, tmp_path / "photos")
    meta = json.loads((tmp_path / "photos" / META_NAME).read_text())
    (tmp_path / "photos" / META_NAME).write_text(json.dumps(meta | {"version": 1}))  # as shapespace wrote it before aspects
    shutil.rmtree(tmp_path / "photos" / "aspects")
    old = open_photo_cache(tmp_path / "photos")
    assert old.aspects is None and old.images.shape == (9, 16, 16, 3)
    data = VoxelSet(torch.from_numpy(old.voxels), torch.from_numpy(old.labels), ("chair", "table"), "test")
    gan = GANConfig(resolution=8, latent_dim=8, generator_channels=(16,), discriminator_channels=(16,), latent_prior="normal")
    recipe = VAE_RECIPES.get("fast").replace(photo_cache=str(tmp_path / "photos"))
    plain = EncoderConfig(image_size=16, latent_dim=8, backbone="efficientnet-lite0", backbone_size=32)
    assert open_training_cache(recipe, gan, plain, data).aspects is None
    with pytest.raises(DataError, match=r"photo_cache.*photos: was made by an earlier shapespace and does not record its pictures. aspect ratios.*run the `shapespace data photos` command that made it again"):
        open_training_cache(recipe, gan, EncoderConfig(**{**plain.to_dict(), "crop_aspect": True}), data)
    # `data photos` again brings it to version 2: every shape is rendered again, to the same
    # pictures, now with their aspect ratios.
    before = old.images.copy()
    again = _prepare(furniture, tmp_path / "photos")
    assert again["rendered"] == 3 and again["version"] == 2
    upgraded, straight = open_photo_cache(tmp_path / "photos"), open_photo_cache(_prepare(furniture, tmp_path / "v2") and tmp_path / "v2")
    assert np.array_equal(upgraded.images, before) and np.array_equal(upgraded.aspects, straight.aspects)
    # The same pairs keep their id (training runs record it, and resume only on the same id).
    assert again["id"] == meta["id"] == straight.meta["id"]
    meta["version"] = 7
    (tmp_path / "photos" / META_NAME).write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"not a shapespace photo cache of a version this shapespace reads \(1, 2;"):
        open_photo_cache(tmp_path / "photos")


def test_built_in_shapes_follow_the_libraries_items(furniture, tmp_path):
    from shapespace.data.builtin import CLASSES, furniture_shape
    from shapespace.data.photo_cache import photo_cache_id

    plain = _prepare(furniture, tmp_path / "plain")
    # Caches without them are described, and identified, as before the option existed.
    defining = ("version", "revision", "source", "textures", "files", "resolution", "size", "views", "seed", "classes_requested", "scene", "classes", "count", "shapes")
    before = hashlib.sha256(json.dumps({k: plain.get(k) for k in defining} | {"version": 1}, sort_keys=True).encode()).hexdigest()[:16]
    assert "builtin" not in plain and plain["id"] == before
    meta = _prepare(furniture, tmp_path / "photos", builtin=1)
    assert meta["count"] == 3 + 6 and meta["rendered"] == 9 and meta["classes"] == list(CLASSES)
    assert meta["builtin"] == {"count": 1, "revision": 1} and meta["id"] == photo_cache_id(meta) != plain["id"]
    assert [s["path"] for s in meta["shapes"][3:]] == [f"builtin:{c}/0" for c in CLASSES]
    assert meta["shapes"][3]["credit"]["creator"] == "shapespace"
    pairs = open_photo_cache(tmp_path / "photos", resolution=8)
    # The labels index the six classes. (The items' pictures are not the plain cache's: the
    # furniture around an object is drawn from every shape of the cache.)
    assert pairs.labels.tolist() == [2, 2, 5, 0, 1, 2, 3, 4, 5] and pairs.images.shape == (27, 16, 16, 3)
    for k, category in enumerate(CLASSES):  # the targets are the built-in grids
        assert np.array_equal(pairs.voxels[3 + k], furniture_shape(category, 0, 8).astype(np.uint8))
    assert len({pairs.images[i].tobytes() for i in range(27)}) == 27 and pairs.aspects.min() > 0
    # A bookcase is tall, a bed low: their pictures' crops say so.
    assert pairs.aspects[12:15].max() < 1.0 and pairs.aspects[12:15].max() < pairs.aspects[9:12].mean(), pairs.aspects[9:15]
    assert _prepare(furniture, tmp_path / "photos", builtin=1)["rendered"] == 0  # continued: nothing to do
    with pytest.raises(DataError, match=r"photos: a photo cache rendered with other built-in shapes \(builtin\); pass overwrite"):
        _prepare(furniture, tmp_path / "photos", builtin=2)
    with pytest.raises(DataError, match=r"plain: a photo cache rendered with other built-in shapes"):
        _prepare(furniture, tmp_path / "plain", builtin=1)
    chairs = _prepare(furniture, tmp_path / "chairs", builtin=2, classes=["chair"])
    assert [s["path"] for s in chairs["shapes"]][2:] == ["builtin:chair/0", "builtin:chair/1"] and chairs["classes"] == ["chair"]
    # A class the library lacks comes from the built-in shapes alone.
    beds = _prepare(furniture, tmp_path / "beds", builtin=1, classes=["bed", "chair"])
    assert [s["path"] for s in beds["shapes"]] == [*(s["path"] for s in chairs["shapes"][:2]), "builtin:bed/0", "builtin:chair/0"]
    assert beds["classes"] == ["bed", "chair"] and open_photo_cache(tmp_path / "beds").labels.tolist() == [1, 1, 0, 1]
    assert [s["path"] for s in _prepare(furniture, tmp_path / "bed", builtin=1, classes=["bed"])["shapes"]] == ["builtin:bed/0"]
    with pytest.raises(DataError, match=r"classes: lamp is none of the classes of the built-in shapes"):
        _prepare(furniture, tmp_path / "bad", builtin=1, classes=["lamp"])
    for bad in (-1, 1.5, True):
        with pytest.raises(DataError, match="builtin must be a number of built-in shapes per class"):
            _prepare(furniture, tmp_path / "bad", builtin=bad)


def test_a_stopped_or_damaged_cache_is_continued_to_the_same_pictures(furniture, tmp_path):
    _prepare(furniture, tmp_path / "straight")
    _prepare(furniture, tmp_path / "photos")
    first = (tmp_path / "photos" / "images" / "00001.npy")
    first.unlink()
    (tmp_path / "photos" / "aspects" / "00002.npy").write_bytes(b"truncated")
    meta = json.loads((tmp_path / "photos" / META_NAME).read_text())
    meta["complete"] = False
    (tmp_path / "photos" / META_NAME).write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"photos: the photo cache is incomplete .*run the same `shapespace data photos` command again"):
        open_photo_cache(tmp_path / "photos")
    again = _prepare(furniture, tmp_path / "photos")
    assert again["rendered"] == 2  # the two missing or damaged files, no more
    mended, straight = open_photo_cache(tmp_path / "photos"), open_photo_cache(tmp_path / "straight")
    assert np.array_equal(mended.images, straight.images) and np.array_equal(mended.aspects, straight.aspects)


def test_worker_processes_render_the_same_pictures(furniture, tmp_path):
    _prepare(furniture, tmp_path / "here")
    _prepare(furniture, tmp_path / "pool", workers=2)
    here, pool = open_photo_cache(tmp_path / "here"), open_photo_cache(tmp_path / "pool")
    assert np.array_equal(here.images, pool.images) and np.array_equal(here.aspects, pool.aspects)


def test_other_settings_need_overwrite(furniture, tmp_path):
    _prepare(furniture, tmp_path / "photos")
    with pytest.raises(DataError, match=r"out .*photos: a photo cache rendered with other views, seed; pass overwrite"):
        _prepare(furniture, tmp_path / "photos", views=2, seed=4)
    assert _prepare(furniture, tmp_path / "photos", views=2, overwrite=True)["rendered"] == 3
    assert open_photo_cache(tmp_path / "photos").images.shape[0] == 6
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"out .*other: exists and is not a photo cache"):
        _prepare(furniture, tmp_path / "other", overwrite=True)


def test_damaged_caches_are_named(furniture, tmp_path):
    _prepare(furniture, tmp_path / "photos")
    with pytest.raises(DataError, match=r"holds 8\^3 shapes but 16\^3 are needed; render one with resolution 16"):
        open_photo_cache(tmp_path / "photos", resolution=16)
    np.save(tmp_path / "photos" / "aspects" / "00001.npy", np.array([1.0, -1.0, 1.0], np.float32))
    with pytest.raises(DataError, match=r"aspects/00001\.npy: missing or damaged \(expected 3 positive aspect ratios\)"):
        open_photo_cache(tmp_path / "photos")
    (tmp_path / "photos" / "images" / "00000.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match=r"00000\.npy: missing or damaged \(expected 3 pictures of 16x16\)"):
        open_photo_cache(tmp_path / "photos")
    (tmp_path / "photos" / "shapes.npy").write_bytes(b"nothing")
    with pytest.raises(DataError, match=r"damaged photo cache: shapes.npy or labels.npy does not load"):
        open_photo_cache(tmp_path / "photos")
    (tmp_path / "photos" / META_NAME).write_text("{")
    with pytest.raises(DataError, match=r"photo-cache\.json: not a readable photo cache description"):
        open_photo_cache(tmp_path / "photos")
    with pytest.raises(DataError, match=r"not a readable photo cache description"):
        open_photo_cache(tmp_path / "nowhere")


def test_sources_without_furniture_or_textures(furniture, tmp_path):
    with pytest.raises(DataError, match=r"nothing\.obj: not a Sweet Home 3D library"):
        prepare_photo_cache(str(tmp_path / "nothing.obj"), tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: holds no Sweet Home 3D library"):
        prepare_photo_cache(str(tmp_path / "empty"), tmp_path / "out")
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "Room.sh3f").write_bytes((furniture / "Room.sh3f").read_bytes())
    with pytest.raises(DataError, match=r"no sweethome3d\.jar in .*alone for the floor and wall textures; give it with textures"):
        prepare_photo_cache(str(alone), tmp_path / "out")
    assert find_textures(furniture / "Room.sh3f") == furniture / "sweethome3d.jar"
    assert not (tmp_path / "out").exists()


def test_the_data_photos_command(furniture, tmp_path, capsys):
    from shapespace.cli.main import main

    argv = ["data", "photos", str(furniture), "--views", "2", "--size", "16", "--res", "8", "--workers", "0", "--no-progress"]
    assert main(argv + ["--out", str(tmp_path / "photos")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shapes"] == 3 and summary["classes"] == {"chair": 2, "table": 1} and summary["pictures"] == 6
    assert summary["rendered_now"] == 3 and (tmp_path / "photos" / "preview.png").is_file()
    assert main(argv + ["--out", str(tmp_path / "photos")]) == 0  # already done: nothing to render
    assert json.loads(capsys.readouterr().out)["rendered_now"] == 0
    assert main(argv + ["--classes", "table", "--out", str(tmp_path / "tables")]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == {"table": 1}
    assert main(argv + ["--classes", "table", "--builtin", "2", "--out", str(tmp_path / "more")]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == {"table": 3}
    assert main(["data", "photos", "builtin:chair", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "builtin:chair: not a Sweet Home 3D library" in capsys.readouterr().err
    assert main(argv + ["--views", "5", "--out", str(tmp_path / "photos")]) == 2  # the flags are named on the command line
    assert "--out " + str(tmp_path / "photos") + ": a photo cache rendered with other views; pass --overwrite" in capsys.readouterr().err


def test_without_egl_the_command_stops_at_once_with_the_install_commands(furniture, tmp_path, monkeypatch, capsys):
    moderngl = pytest.importorskip("moderngl")

    from shapespace.cli.main import main

    def fail(**kwargs):
        raise Exception("cannot open libEGL.so.1")

    monkeypatch.setattr(moderngl, "create_standalone_context", fail)
    assert main(["data", "photos", str(furniture), "--views", "1", "--res", "8", "--no-progress", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no OpenGL context through EGL (cannot open libEGL.so.1)" in err[0] and "make photo-deps" in err[0]

"""`train vae-gan --photo-cache`: the cache's pairs in every batch, their determinism, resume,
the preview, mismatches. The caches are written here in the documented layout (no rendering)."""

import json
import shutil

import numpy as np
import pytest
import torch

from conftest import box_voxels
from shapespace.cli.main import main
from shapespace.data.photo_cache import META_NAME, PHOTO_CACHE_FORMAT, PHOTO_CACHE_VERSION, open_photo_cache
from shapespace.data.sources import VoxelSet
from shapespace.errors import CheckpointError, ConfigError, DataError
from shapespace.models.encoder import EncoderConfig
from shapespace.models import GANConfig
from shapespace.training.vaegan_config import VAE_RECIPES
from shapespace.training.vaegan_trainer import VAEGANTrainer

pytestmark = pytest.mark.usefixtures("single_thread")

TINY_GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
TINY_ENCODER = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))


def write_photo_cache(path, count=3, views=2, size=16, resolution=16, complete=True, classes=("box",), seed=0, labels=None):
    """A photo cache whose picture v of shape i is filled with the grey level 10 * (i * views + v) + 5
    and has the aspect ratio 0.5 + 0.25 * (i * views + v), and whose shape i is a box of height
    3 + i, of class ``classes[labels[i]]`` (labels: all 0)."""
    labels = np.zeros(count, np.int64) if labels is None else np.asarray(labels, np.int64)
    (path / "images").mkdir(parents=True)
    (path / "aspects").mkdir()
    voxels = np.zeros((count, resolution, resolution, resolution), np.uint8)
    for i in range(count):
        voxels[i, 4:10, 4:10, 1 : 4 + i] = 1
        grey = (10 * (i * views + np.arange(views)) + 5).astype(np.uint8)
        np.save(path / "images" / f"{i:05d}.npy", np.broadcast_to(grey[:, None, None, None], (views, size, size, 3)).copy())
        np.save(path / "aspects" / f"{i:05d}.npy", (0.5 + 0.25 * (i * views + np.arange(views))).astype(np.float32))
    np.save(path / "shapes.npy", voxels)
    np.save(path / "labels.npy", labels)
    meta = {
        "format": PHOTO_CACHE_FORMAT, "version": PHOTO_CACHE_VERSION, "count": count, "views": views, "size": size,
        "resolution": resolution, "classes": list(classes), "shapes": [{"path": f"x.sh3f/{i}", "class": classes[k]} for i, k in enumerate(labels)],
        "complete": complete, "seed": seed, "id": f"test-{count}-{views}-{size}-{seed}",
    }  # fmt: skip
    (path / META_NAME).write_text(json.dumps(meta))
    return path


def _recipe(**changes):
    base = VAE_RECIPES.get("fast").replace(
        steps=2, batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, log_every=1, instance_noise=0.0, seed=3
    )
    return base.replace(**changes)


def _boxes(n: int = 8) -> VoxelSet:
    return VoxelSet(box_voxels(n), torch.zeros(n, dtype=torch.long), ("box",), "test:boxes")


def _trainer(run_dir, recipe, encoder=TINY_ENCODER, **kw) -> VAEGANTrainer:
    return VAEGANTrainer(TINY_GAN, encoder, recipe, _boxes(), run_dir, device="cpu", progress=False, **kw)


def _cached_rows(images: torch.Tensor) -> list[int]:
    """The rows of a batch that are cached pictures: flat grey (rendered ones never are)."""
    return [r for r in range(len(images)) if torch.all(images[r] == images[r].flatten()[0])]


def test_cache_pairs_share_every_batch_with_rendered_shapes(tmp_path):
    cache = write_photo_cache(tmp_path / "photos")
    trainer = _trainer(tmp_path / "run", _recipe(photo_cache=str(cache), photo_cache_share=0.5))
    assert trainer.cached_rows == 2
    seen = set()
    for step in range(6):
        images, shapes, aspects, _ = trainer.training_pairs(step)
        assert images.shape == (4, 3, 16, 16) and shapes.shape == (4, 16, 16, 16) and shapes.dtype == torch.uint8
        assert aspects.shape == (4,) and bool((aspects > 0).all())
        rows = _cached_rows(images)
        assert len(rows) == 2
        seen |= set(rows)
        for row in rows:  # a cached picture (one grey level) with its own shape
            level = round(float(images[row, 0, 0, 0]) * 255)
            picture = (level - 5) // 10
            assert int(shapes[row].sum()) == 36 * (3 + picture // 2)  # the box of shape picture // views
            assert float(aspects[row]) == 0.5 + 0.25 * picture  # and the picture's own aspect ratio
        data = _boxes()
        for row in sorted(set(range(4)) - set(rows)):  # the others: data shapes (maybe flipped)
            assert any(torch.equal(shapes[row], v) or torch.equal(shapes[row], v.flip(1)) for v in data.voxels)
    assert len(seen) > 2  # the cached rows move about the batch (each process of a data-parallel run gets some)
    # The same step draws the same pairs, in a new trainer too.
    again, _, _, _ = _trainer(tmp_path / "run2", _recipe(photo_cache=str(cache), photo_cache_share=0.5)).training_pairs(0)
    assert torch.equal(trainer.training_pairs(0)[0], again)


def test_pictures_are_resized_for_the_encoder_and_a_whole_batch_may_come_from_the_cache(tmp_path):
    cache = write_photo_cache(tmp_path / "photos", size=32)
    trainer = _trainer(tmp_path / "run", _recipe(photo_cache=str(cache), photo_cache_share=1.0))
    images, shapes, _, _ = trainer.training_pairs(1)
    assert images.shape == (4, 3, 16, 16)  # 32 -> the encoder's 16
    levels = {round(float(image.flatten()[0]) * 255) for image in images}
    assert levels <= {5, 15, 25, 35, 45, 55} and len(levels) > 1  # each flat grey keeps its level
    assert all(torch.allclose(image, image.flatten()[0], atol=1e-6) for image in images)
    assert all(int(s.sum()) in (36 * 3, 36 * 4, 36 * 5) for s in shapes)


def test_training_with_a_cache_resumes_exactly_and_previews_cached_pictures(tmp_path):
    cache = write_photo_cache(tmp_path / "photos")
    recipe = _recipe(photo_cache=str(cache), photo_cache_share=0.5, steps=4)
    straight = _trainer(tmp_path / "straight", recipe)
    straight.train()
    first = _trainer(tmp_path / "stopped", recipe.replace(steps=2))
    first.train()
    resumed = _trainer(tmp_path / "stopped", recipe, resume=True)
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.write_preview().is_file()
    assert any(p.name.startswith("recon_") for p in (tmp_path / "straight" / "samples").iterdir())


def test_an_unusable_cache_stops_the_trainer(tmp_path):
    with pytest.raises(DataError, match=r"photo_cache .*holds 8\^3 shapes but 16\^3 are needed"):
        _trainer(tmp_path / "r1", _recipe(photo_cache=str(write_photo_cache(tmp_path / "small", resolution=8))))
    with pytest.raises(DataError, match=r"photo_cache .*the photo cache is incomplete"):
        _trainer(tmp_path / "r2", _recipe(photo_cache=str(write_photo_cache(tmp_path / "half", complete=False))))
    with pytest.raises(DataError, match=r"photo_cache .*its pictures are 8 pixels, smaller than the encoder's 16; render them again with size 16"):
        _trainer(tmp_path / "r3", _recipe(photo_cache=str(write_photo_cache(tmp_path / "tiny", size=8))))
    with pytest.raises(DataError, match=r"photo_cache .*holds classes the data lacks \(table\); the data has box"):
        _trainer(tmp_path / "r4", _recipe(photo_cache=str(write_photo_cache(tmp_path / "tables", classes=("table",)))))
    with pytest.raises(ConfigError, match=r"photo_cache_share 0.1 of batch_size 4 rounds to no row"):
        _trainer(tmp_path / "r5", _recipe(photo_cache=str(write_photo_cache(tmp_path / "ok")), photo_cache_share=0.1))


def test_cache_hash_class_takes_the_pairs_of_those_classes_only(tmp_path):
    # Shapes 0 and 2 are boxes, shape 1 a "table" (heights 3, 4, 5); the data has boxes only.
    cache = write_photo_cache(tmp_path / "photos", classes=("box", "table"), labels=[0, 1, 0])
    with pytest.raises(DataError, match=r"holds classes the data lacks \(table\)"):
        _trainer(tmp_path / "all", _recipe(photo_cache=str(cache), photo_cache_share=1.0))
    trainer = _trainer(tmp_path / "run", _recipe(photo_cache=f"{cache}#box", photo_cache_share=1.0))
    pairs = trainer.photo_pairs
    assert pairs.voxels.shape[0] == 2 and pairs.labels.tolist() == [0, 0] and pairs.meta["classes"] == ["box"]
    assert pairs.shape_of.tolist() == [0, 0, 1, 1] and pairs.meta["count"] == 2
    levels = {round(float(pairs.images[i, 0, 0, 0])) for i in range(4)}
    assert levels == {5, 15, 45, 55}  # the pictures of shapes 0 and 2, not 1's 25 and 35
    for step in range(4):
        images, shapes, _, _ = trainer.training_pairs(step)
        for image, shape in zip(images, shapes):  # each picture with its own shape
            picture = (round(float(image[0, 0, 0]) * 255) - 5) // 10
            assert picture in (0, 1, 4, 5) and int(shape.sum()) == 36 * (3 + picture // 2)
    assert pairs.meta["shapes"] == [{"path": "x.sh3f/0", "class": "box"}, {"path": "x.sh3f/2", "class": "box"}]
    assert trainer.resolved_config()["photo_cache"]["classes"] == ["box"]
    # The labels index the classes kept: "table" (1 in the cache) is 0 alone, 1 beside "box".
    tables = open_photo_cache(cache, classes=["table"])
    assert tables.labels.tolist() == [0] and tables.meta["classes"] == ["table"] and tables.voxels[0].sum() == 36 * 4
    both = open_photo_cache(cache, classes=["table", "box", "box"])
    assert both.labels.tolist() == [0, 1, 0] and both.meta["classes"] == ["box", "table"] and len(both) == 6
    assert "classes" not in _trainer(tmp_path / "plain", _recipe(photo_cache=str(write_photo_cache(tmp_path / "boxes")))).resolved_config()["photo_cache"]
    with pytest.raises(DataError, match=r"photo_cache .*the photo cache has no class lamp; it holds box, table"):
        _trainer(tmp_path / "lamp", _recipe(photo_cache=f"{cache}#lamp"))
    with pytest.raises(DataError, match=r"photo_cache '.*photos#': expected CACHE or CACHE#class"):
        _trainer(tmp_path / "empty", _recipe(photo_cache=f"{cache}#"))
    # A cache folder whose name holds "#" is that folder.
    hashed = write_photo_cache(tmp_path / "a#box")
    assert len(_trainer(tmp_path / "hashed", _recipe(photo_cache=str(hashed))).photo_pairs) == 6


def test_resume_refuses_a_cache_rendered_anew_at_the_same_path(tmp_path):
    cache = write_photo_cache(tmp_path / "photos")
    _trainer(tmp_path / "run", _recipe(photo_cache=str(cache), steps=1, checkpoint_every=1)).train()
    shutil.rmtree(cache)
    write_photo_cache(tmp_path / "photos", seed=7)
    with pytest.raises(CheckpointError, match=r"resume.*photo_cache config differs"):
        _trainer(tmp_path / "run", _recipe(photo_cache=str(cache), steps=2, checkpoint_every=1), resume=True)


def test_the_cli_flags(tmp_path, capsys):
    cache = write_photo_cache(tmp_path / "photos", size=64, classes=("chair",))
    argv = ["train", "vae-gan", "--preset", "tiny-16", "--steps", "1", "--batch-size", "2", "--precision", "fp32", "--no-progress",
            "--sample-every", "0", "--data", "builtin:chair", "--count", "4", "--photo-cache", str(cache), "--photo-cache-share", "0.5"]  # fmt: skip
    assert main(argv + ["--out", str(tmp_path / "run")]) == 0
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert training["photo_cache"] == str(cache) and training["photo_cache_share"] == 0.5
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(argv[:-2] + ["--photo-cache-share", "2", "--out", str(tmp_path / "bad")])
    assert exit.value.code == 2 and "argument --photo-cache-share: expected a number in [0, 1], got 2.0" in capsys.readouterr().err
    assert main(argv[:-4] + ["--photo-cache", str(tmp_path / "none"), "--out", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "none" in err and "photo cache description" in err

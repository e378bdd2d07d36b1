"""Small Sweet Home 3D furniture libraries made in tests (never the Debian package)."""

from __future__ import annotations

import zipfile

import numpy as np
import trimesh
from PIL import Image


def obj_files(mesh: trimesh.Trimesh, stem: str, texture: Image.Image | None = None) -> dict[str, bytes]:
    """``{stem.obj, stem.mtl[, texture png]}`` of a mesh, as trimesh writes them; with ``texture``
    the mesh is given uv coordinates and the image as its diffuse map."""
    if texture is not None:
        uv = np.random.default_rng(0).random((len(mesh.vertices), 2))
        mesh = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
        mesh.visual = trimesh.visual.TextureVisuals(uv=uv, image=texture)
    text, files = trimesh.exchange.obj.export_obj(mesh, return_texture=True, mtl_name=f"{stem}.mtl")
    return {f"{stem}.obj": text.encode()} | {name: bytes(data) for name, data in files.items()}


def make_library(path, catalogue: str, files: dict[str, bytes], catalogue_name: str = "PluginFurnitureCatalog.properties", encoding: str = "utf-8"):
    """A zip at ``path`` holding ``catalogue`` (properties text) and ``files`` (name -> bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(catalogue_name, catalogue.encode(encoding))
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def box_library(path, size=(80, 20, 40), rotation: str | None = None, extents=(1.0, 1.0, 1.0), extra: str = ""):
    """One item, ``1-box``: a box mesh of ``extents`` in its OBJ, of real ``size`` (width, depth, height)."""
    files = {f"box/{name}": data for name, data in obj_files(trimesh.creation.box(extents=extents), "box").items()}
    catalogue = (
        "id=Test#library\nname=Test library\nlicense=CC0\n"
        f"id#1=Test#box\nname#1=Box\ncategory#1=Living room\nmodel#1=/box/box.obj\n"
        f"width#1={size[0]}\ndepth#1={size[1]}\nheight#1={size[2]}\ncreator#1=Ada\n"
        + (f"modelRotation#1={rotation}\n" if rotation else "")
        + extra
    )
    return make_library(path, catalogue, files)

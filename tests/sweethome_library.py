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


def coloured_box_files(stem: str, extents, colour) -> dict[str, bytes]:
    """A box's OBJ and MTL with one plain diffuse colour (sRGB in [0, 1]), under ``stem/``."""
    mesh = trimesh.creation.box(extents=extents)
    mesh.visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.SimpleMaterial(diffuse=[int(255 * c) for c in colour] + [255]))
    text, files = trimesh.exchange.obj.export_obj(mesh, return_texture=True, mtl_name=f"{stem}.mtl")
    return {f"{stem}/{stem}.obj": text.encode()} | {f"{stem}/{name}": bytes(data) for name, data in files.items()}


def furniture_room_library(path, count: int = 2):
    """A library of ``count`` items, alternately a green "Chair" (40 x 40 x 90 cm) and a blue
    "Table" (120 x 80 x 75 cm), plain boxes with one colour each."""
    files, lines = {}, ["id=Test#room\nname=Room test\nlicense=CC0\n"]
    for index in range(1, count + 1):
        name, size, colour = ("Chair", (40, 40, 90), (0.1, 0.9, 0.1)) if index % 2 else ("Table", (120, 80, 75), (0.1, 0.1, 0.9))
        stem = f"item{index}"
        files |= coloured_box_files(stem, (1.0, 1.0, 1.0), colour)
        lines.append(
            f"name#{index}={name}\ncategory#{index}=Living room\nmodel#{index}=/{stem}/{stem}.obj\n"
            f"width#{index}={size[0]}\ndepth#{index}={size[1]}\nheight#{index}={size[2]}\ncreator#{index}=Ada\n"
        )
    return make_library(path, "".join(lines), files)


def texture_jar(path):
    """A stand-in for sweethome3d.jar: its texture catalogue with one floor and one wall texture,
    and a furniture catalogue whose one item (a lamp) is of none of the six classes."""
    def png(colour) -> bytes:
        import io

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
        return buffer.getvalue()

    catalogue = (
        "id=Test#textures\n"
        "name#1=Checks\ncategory#1=Floor\nimage#1=/tex/floor.png\nwidth#1=40\nheight#1=40\n"
        "name#2=Paint\ncategory#2=Wall\nimage#2=/tex/wall.png\nwidth#2=100\nheight#2=100\n"
        "name#3=Sky\ncategory#3=Sky\nimage#3=/tex/sky.png\nwidth#3=100\nheight#3=100\n"
    )
    files = {
        "tex/floor.png": png((120, 90, 60)), "tex/wall.png": png((220, 220, 210)), "tex/sky.png": png((0, 0, 255)),
        "com/eteks/sweethome3d/io/DefaultTexturesCatalog.properties": catalogue.encode(),
    }  # fmt: skip
    furniture = "id=Test#jar\nname#1=Lamp\ncategory#1=Lights\nmodel#1=/lamp.obj\nwidth#1=10\ndepth#1=10\nheight#1=50\n"
    return make_library(path, furniture, files, catalogue_name="com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties")

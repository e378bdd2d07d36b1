"""Textured meshes rasterised with OpenGL: moderngl on an EGL context (Mesa's llvmpipe on a CPU).

This is the rasterizer of the photo-like training images (:mod:`shapespace.rendering.scenes`).
The rasterising is Mesa's; this module only uploads triangles, materials and textures and
runs a small shader: the diffuse colour (the texture's, else the material's) lit by one
directional light and a sky/ground ambient term, with an exposure gain, in linear light
between sRGB decoding and encoding. Every normal is turned towards the camera before
lighting, so faces are lit from both sides whatever their winding or the file's normals
(models of furniture libraries are not always closed or consistently wound). Texture
filtering, mipmaps and the supersampling average sRGB-encoded values (slightly darker
edges than a linear-light filter would give), and texture alpha and material opacity are
ignored (glass and cut-outs render opaque). There are no cast shadows; soft
contact shadows under objects are decals (:meth:`GLRenderer.shadow_decal`).

Why moderngl with EGL (docs/renderer_study.md): about 4 ms per 256x256 image on one CPU
core, two small wheels from PyPI and Mesa's runtime libraries (Debian ``libegl1
libegl-mesa0 libgl1-mesa-dri``), no display. A context belongs to one process: create the
:class:`GLRenderer` inside each worker process, never before forking.

Conventions: positions are in the caller's units (the scenes use cm) in a z-up world;
matrices are numpy (4, 4) arrays acting on column vectors; images come back as
UInt8Array (S, S, 3), row 0 at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from shapespace.errors import ShapespaceError

if TYPE_CHECKING:
    import trimesh

# Longest side of a texture as uploaded (larger images are shrunk): bounds memory and upload time.
MAX_TEXTURE_SIDE = 1024
# Supersampling factor per side: the image is rendered at SUPERSAMPLE x its size and box-filtered.
SUPERSAMPLE = 2

INSTALL_HINT = (
    "rendering photos needs moderngl (pip install 'shapespace[photos]') and Mesa's EGL "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri; `make photo-deps` does both)"
)

_VERTEX_SHADER = """
#version 330
uniform mat4 projection_view;
uniform mat4 model;
uniform int uv_mode;          // 0: the mesh's UVs; 1: world coordinates along two axes (floors, walls)
uniform vec3 uv_axis_u;
uniform vec3 uv_axis_v;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_normal;
out vec3 v_world;
out vec2 v_uv;
void main() {
    vec4 world = model * vec4(in_position, 1.0);
    gl_Position = projection_view * world;
    v_normal = mat3(model) * in_normal;  // model matrices are rotations, translations and uniform scales
    v_world = world.xyz;
    v_uv = uv_mode == 1 ? vec2(dot(world.xyz, uv_axis_u), dot(world.xyz, uv_axis_v)) : in_uv;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2D texture0;
uniform bool has_texture;
uniform vec3 colour;          // linear RGB; multiplies the texture when there is one
uniform vec3 light_direction; // unit vector towards the light
uniform vec3 light_colour;
uniform vec3 sky_colour;      // ambient light from above
uniform vec3 ground_colour;   // ambient light from below
uniform float exposure;
uniform float shadow;         // > 0: a shadow decal, black with alpha shadow * the texture's alpha
uniform vec3 eye;             // the camera's position: normals are turned to face it
in vec3 v_normal;
in vec3 v_world;
in vec2 v_uv;
out vec4 frag;
void main() {
    if (shadow > 0.0) {
        frag = vec4(0.0, 0.0, 0.0, shadow * texture(texture0, v_uv).a);
        return;
    }
    vec3 base = colour;
    if (has_texture) {
        base *= pow(texture(texture0, v_uv).rgb, vec3(2.2));
    }
    vec3 n = normalize(v_normal);
    if (dot(n, eye - v_world) < 0.0) n = -n;  // lit from both sides, whatever the winding
    vec3 ambient = mix(ground_colour, sky_colour, 0.5 + 0.5 * n.z);
    vec3 lit = base * (ambient + light_colour * max(dot(n, light_direction), 0.0));
    frag = vec4(pow(clamp(lit * exposure, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""


class RendererUnavailable(ShapespaceError):
    """moderngl is not installed, or no EGL context can be created (no Mesa EGL libraries)."""


def srgb_to_linear(rgb: Sequence[float]) -> tuple[float, float, float]:
    """An sRGB colour in [0, 1] as linear light (gamma 2.2, as the shader decodes textures)."""
    return tuple(float(max(c, 0.0)) ** 2.2 for c in rgb)  # type: ignore[return-value]


@dataclass
class Part:
    """One uploaded piece of a mesh: triangles of one material.

    Attributes:
        vao: the vertex array, reading ``buffer`` (positions, normals, UVs).
        texture: the moderngl texture, or None.
        colour: its colour as linear RGB (multiplies the texture).
    """

    vao: Any
    buffer: Any
    texture: Any
    colour: tuple[float, float, float]


@dataclass
class Model:
    """A mesh uploaded to a :class:`GLRenderer`: its parts and its bounds in its own coordinates.

    Attributes:
        parts: one per material.
        points: FloatArray (P, 3), its vertices (for framing the camera).
        low, high: FloatArray (3,), the corners of its bounding box.
    """

    parts: list[Part]
    points: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def release(self, textures: bool = True) -> None:
        """Free its GPU objects (its textures too when ``textures``)."""
        for part in self.parts:
            part.vao.release()
            part.buffer.release()
            if textures and part.texture is not None:
                part.texture.release()


@dataclass(frozen=True)
class Light:
    """The lighting of a picture.

    Attributes:
        direction: unit vector (3,) pointing towards the light.
        colour: linear RGB of the directional light.
        sky, ground: linear RGB of the ambient light from above and from below.
        exposure: gain on the final linear colour.
    """

    direction: tuple[float, float, float] = (0.3, -0.5, 0.8)
    colour: tuple[float, float, float] = (0.8, 0.8, 0.8)
    sky: tuple[float, float, float] = (0.35, 0.35, 0.35)
    ground: tuple[float, float, float] = (0.15, 0.15, 0.15)
    exposure: float = 1.0


@dataclass(frozen=True)
class Placed:
    """A model in a picture: the model, its transform to world and, optionally, world-planar texture axes.

    Attributes:
        model: the uploaded model.
        transform: FloatArray (4, 4), model to world: a rotation, translation and uniform
            scale (normals are transformed by its linear part).
        uv_axes: None to use the mesh's UVs, else two world vectors (u, v): the texture
            coordinate of a world point p is (u . p, v . p) (so |u| is one over the
            texture's real width).
        shadow: 0 for a solid model; above 0, the model is a shadow decal
            (:meth:`GLRenderer.shadow_decal`), drawn black with alpha ``shadow`` times its
            texture's alpha over the solid models.
    """

    model: Model
    transform: np.ndarray
    uv_axes: tuple[np.ndarray, np.ndarray] | None = None
    shadow: float = 0.0


def _open_context():
    try:
        import moderngl
    except ImportError:
        raise RendererUnavailable(f"moderngl is not installed: {INSTALL_HINT}") from None
    try:
        return moderngl, moderngl.create_standalone_context(backend="egl")
    except Exception as error:  # glcontext raises plain Exceptions with the loader's message
        raise RendererUnavailable(f"no OpenGL context through EGL ({error}): {INSTALL_HINT}") from None


class GLRenderer:
    """An offscreen OpenGL renderer of square pictures of ``size`` pixels.

    Args:
        size: the side of the pictures in pixels.

    Raises:
        RendererUnavailable: with the install commands, when moderngl or EGL is missing.
    """

    def __init__(self, size: int) -> None:
        if not 8 <= size <= 1024:
            raise ValueError(f"size must be between 8 and 1024 pixels, got {size}")
        self.size = size
        self._gl, self.ctx = _open_context()
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        side = size * SUPERSAMPLE
        self.fbo = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((side, side), 4)], depth_attachment=self.ctx.depth_renderbuffer((side, side))
        )
        self._white = self._texture_from_array(np.full((1, 1, 3), 255, np.uint8))
        # A soft blob: alpha 1 in the middle, falling smoothly to 0 at the edges.
        t = (np.arange(64) + 0.5) / 64
        falloff = np.clip((0.5 - np.abs(t - 0.5)) / 0.3, 0, 1)
        falloff = falloff * falloff * (3 - 2 * falloff)
        blob = np.zeros((64, 64, 4), np.uint8)
        blob[..., 3] = np.round(255 * np.outer(falloff, falloff))
        self._blob = self._texture_from_array(blob)

    @property
    def renderer_name(self) -> str:
        return str(self.ctx.info.get("GL_RENDERER", "unknown"))

    def _texture_from_array(self, rgb: np.ndarray):
        """A repeating, mipmapped texture of UInt8Array (H, W, 3 or 4), row 0 at the image's top."""
        flipped = np.ascontiguousarray(rgb[::-1])  # GL's rows start at the bottom
        texture = self.ctx.texture((rgb.shape[1], rgb.shape[0]), rgb.shape[2], flipped.tobytes())
        texture.repeat_x = texture.repeat_y = True
        texture.build_mipmaps()
        texture.filter = (self._gl.LINEAR_MIPMAP_LINEAR, self._gl.LINEAR)
        return texture

    def texture(self, image) -> Any:
        """Upload a PIL image as a texture (shrunk to :data:`MAX_TEXTURE_SIDE`)."""
        from PIL import Image

        rgb = image.convert("RGB")
        if max(rgb.size) > MAX_TEXTURE_SIDE:
            scale = MAX_TEXTURE_SIDE / max(rgb.size)
            rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.BILINEAR)
        return self._texture_from_array(np.asarray(rgb, dtype=np.uint8))

    def _vao(self, positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray):
        data = np.concatenate([positions, normals, uvs], axis=1).astype("f4")
        buffer = self.ctx.buffer(data.tobytes())
        return self.ctx.vertex_array(self.program, [(buffer, "3f 3f 2f", "in_position", "in_normal", "in_uv")]), buffer

    def upload_mesh(self, mesh: "trimesh.Trimesh", textured: bool = True) -> Part:
        """One trimesh mesh as a :class:`Part`: its material's colour and texture (when it has
        UVs and an image); a textured material is drawn with its texture alone (white
        colour), as Sweet Home 3D does, since libraries give dark ``Kd`` values with textures."""
        faces = np.asarray(mesh.faces, dtype=np.int64)
        positions = np.asarray(mesh.vertices, dtype=np.float32)[faces].reshape(-1, 3)
        normals = np.asarray(mesh.vertex_normals, dtype=np.float32)[faces].reshape(-1, 3)
        visual = mesh.visual
        material = getattr(visual, "material", None)
        uv = getattr(visual, "uv", None)
        image = getattr(material, "image", None) if material is not None else None
        colour = (0.8, 0.8, 0.8)
        if material is not None and getattr(material, "diffuse", None) is not None:
            colour = tuple(np.asarray(material.diffuse[:3], dtype=np.float64) / 255.0)
        elif getattr(visual, "kind", None) == "face" or getattr(visual, "kind", None) == "vertex":
            colour = tuple(np.asarray(visual.main_color[:3], dtype=np.float64) / 255.0)
        texture = None
        if textured and image is not None and uv is not None and len(uv) == len(mesh.vertices):
            texture = self.texture(image)
            uvs = np.asarray(uv, dtype=np.float32)[faces].reshape(-1, 2)
            colour = (1.0, 1.0, 1.0)
        else:
            uvs = np.zeros((len(positions), 2), np.float32)
        return Part(*self._vao(positions, normals, uvs), texture, srgb_to_linear(colour))

    def upload_scene(self, scene: "trimesh.Scene", textured: bool = True) -> Model:
        """Every mesh of a trimesh scene (as :meth:`trimesh.Scene.dump` places them) as one :class:`Model`."""
        import trimesh

        meshes = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not meshes:
            raise ValueError("the scene holds no triangles")
        vertices = np.unique(np.concatenate([np.asarray(m.vertices, dtype=np.float64) for m in meshes]), axis=0)
        parts: list[Part] = []
        try:
            for mesh in meshes:
                parts.append(self.upload_mesh(mesh, textured))
        except BaseException:
            Model(parts, vertices, vertices.min(axis=0), vertices.max(axis=0)).release()
            raise
        return Model(parts, vertices, vertices.min(axis=0), vertices.max(axis=0))

    def quad(self, corners: np.ndarray, colour: Sequence[float], texture: Any = None) -> Model:
        """A flat quadrilateral (4 corners, FloatArray (4, 3), in order around it) of one colour
        (sRGB), with an optional texture mapped by world coordinates (:class:`Placed`)."""
        corners = np.asarray(corners, dtype=np.float32)
        normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
        normal = normal / max(np.linalg.norm(normal), 1e-12)
        positions = corners[[0, 1, 2, 0, 2, 3]]
        part = Part(*self._vao(positions, np.tile(normal, (6, 1)), np.zeros((6, 2), np.float32)), texture, srgb_to_linear(colour))
        return Model([part], corners.astype(np.float64), corners.min(axis=0), corners.max(axis=0))

    def shadow_decal(self, low: np.ndarray, high: np.ndarray, height: float = 0.3, spread: float = 0.35) -> Model:
        """A soft contact shadow under a footprint: a horizontal quad at ``height`` over the
        box ``low``..``high`` (x, y) widened by ``spread`` of its size on each side; draw it
        with :class:`Placed` ``shadow`` > 0, and release it with ``textures=False`` (the blob
        texture is the renderer's). Where two decals overlap, the first drawn shows."""
        size = np.asarray(high, np.float64) - np.asarray(low, np.float64)
        (x0, y0), (x1, y1) = np.asarray(low) - spread * size, np.asarray(high) + spread * size
        corners = np.array([[x0, y0, height], [x1, y0, height], [x1, y1, height], [x0, y1, height]], np.float32)
        uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 0], [1, 1], [0, 1]], np.float32)
        normals = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (6, 1))
        part = Part(*self._vao(corners[[0, 1, 2, 0, 2, 3]], normals, uvs), self._blob, (0.0, 0.0, 0.0))
        return Model([part], corners.astype(np.float64), corners.min(axis=0), corners.max(axis=0))

    def render(
        self, placed: Sequence[Placed], projection_view: np.ndarray, light: Light, eye: Sequence[float],
        background: Sequence[float] = (0.5, 0.5, 0.5),
    ) -> np.ndarray:  # fmt: skip
        """Draw ``placed`` models with ``projection_view`` (FloatArray (4, 4), world to clip
        space) seen from ``eye`` (the camera's position, which normals are turned to face).

        Returns:
            UInt8Array (size, size, 3), row 0 at the top.
        """
        gl, program = self._gl, self.program
        self.fbo.use()
        self.ctx.enable(gl.DEPTH_TEST)
        self.ctx.disable(gl.CULL_FACE)
        self.fbo.clear(*background, 1.0, depth=1.0)
        program["projection_view"].write(np.asarray(projection_view, dtype="f4").T.tobytes())
        direction = np.asarray(light.direction, dtype=np.float64)
        program["light_direction"].value = tuple(direction / np.linalg.norm(direction))
        program["light_colour"].value = tuple(light.colour)
        program["sky_colour"].value = tuple(light.sky)
        program["ground_colour"].value = tuple(light.ground)
        program["exposure"].value = float(light.exposure)
        program["texture0"].value = 0
        program["eye"].value = tuple(float(x) for x in eye)
        program["shadow"].value = 0.0
        solid = [item for item in placed if item.shadow <= 0]
        decals = [item for item in placed if item.shadow > 0]
        for item in solid + decals:
            if item.shadow > 0 and item is decals[0]:  # blended over the solid models
                self.ctx.enable(gl.BLEND)
                self.ctx.blend_func = gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA
            program["shadow"].value = float(item.shadow)
            program["model"].write(np.asarray(item.transform, dtype="f4").T.tobytes())
            if item.uv_axes is None:
                program["uv_mode"].value = 0
            else:
                program["uv_mode"].value = 1
                program["uv_axis_u"].value = tuple(float(x) for x in item.uv_axes[0])
                program["uv_axis_v"].value = tuple(float(x) for x in item.uv_axes[1])
            for part in item.model.parts:
                program["has_texture"].value = part.texture is not None
                program["colour"].value = part.colour
                (part.texture or self._white).use(0)
                part.vao.render(gl.TRIANGLES)
        self.ctx.disable(gl.BLEND)
        side = self.size * SUPERSAMPLE
        pixels = np.frombuffer(self.fbo.read(components=3, alignment=1), dtype=np.uint8).reshape(side, side, 3)[::-1]
        binned = pixels.reshape(self.size, SUPERSAMPLE, self.size, SUPERSAMPLE, 3).astype(np.uint16).mean(axis=(1, 3))
        return np.round(binned).astype(np.uint8)

    def release(self) -> None:
        self.ctx.release()


# -- camera matrices --------------------------------------------------------------------
def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """The view matrix (4, 4) of a camera at ``eye`` looking at ``target`` (OpenGL: -z forward)."""
    forward = np.asarray(target, np.float64) - np.asarray(eye, np.float64)
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, up)
    if np.linalg.norm(side) < 1e-9:  # looking straight up or down
        side = np.cross(forward, np.array([1.0, 0.0, 0.0]))
    side /= np.linalg.norm(side)
    true_up = np.cross(side, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = side, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ np.asarray(eye, np.float64)
    return view


def perspective(fov_y_degrees: float, near: float, far: float) -> np.ndarray:
    """A square perspective projection (4, 4) with a vertical field of view in degrees."""
    f = 1.0 / np.tan(np.radians(fov_y_degrees) / 2)
    projection = np.zeros((4, 4))
    projection[0, 0] = projection[1, 1] = f
    projection[2, 2] = (far + near) / (near - far)
    projection[2, 3] = 2 * far * near / (near - far)
    projection[3, 2] = -1.0
    return projection


def project(projection_view: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Normalised device x, y (FloatArray (P, 2)) of world points in front of the camera."""
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ projection_view.T
    w = np.maximum(homogeneous[:, 3:4], 1e-6)
    return homogeneous[:, :2] / w


def crop_to_window(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The matrix (4, 4) that maps the device-space window [low, high] (x, y) onto the whole
    picture, stretching it to a square (as the crops of photo data sets are resized)."""
    crop = np.eye(4)
    scale = 2.0 / np.maximum(high - low, 1e-6)
    crop[0, 0], crop[1, 1] = scale
    # x' = s (x/w - c) in device space, i.e. x_clip' = s x_clip - s c w_clip: column 3
    # multiplies w_clip, the fourth component of a clip-space vector.
    crop[0, 3], crop[1, 3] = -scale * (low + high) / 2
    return crop

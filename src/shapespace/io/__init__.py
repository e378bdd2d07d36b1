"""Shape file formats, read into canonical grids, and atomic file writes.

One module per format (:mod:`.matlab`, :mod:`.binvox`, :mod:`.pointclouds`, :mod:`.meshes`,
:mod:`.sweethome`)
defines its :class:`~shapespace.io.registry.ShapeFormat` without registering it; the
built-in formats are registered here, once, so that :mod:`.registry` never imports a format
module back (the pattern of pytorch3d's ``IO``). :func:`shapespace.io.registry.read_shape`
reads a file of any registered format.
"""

from shapespace.io.binvox import BINVOX_FORMAT
from shapespace.io.matlab import MAT_FORMAT
from shapespace.io.meshes import MESH_FORMAT
from shapespace.io.pointclouds import POINTS_FORMAT
from shapespace.io.registry import register_format
from shapespace.io.sweethome import SWEETHOME_FORMAT

# In this order formats() lists them.
BUILTIN_FORMATS = (BINVOX_FORMAT, MAT_FORMAT, POINTS_FORMAT, MESH_FORMAT, SWEETHOME_FORMAT)

for _builtin in BUILTIN_FORMATS:
    register_format(_builtin)
del _builtin

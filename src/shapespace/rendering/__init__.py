"""Pictures of voxel shapes, split by job (like pytorch3d's ``renderer/``).

* :mod:`.camera`: view directions, camera axes and framing of orthographic views;
* :mod:`.raymarch`: trilinear sampling of occupancy fields, occupied boxes, clipping and
  marching rays to the iso-surface;
* :mod:`.shading`: blur, normals, lighting, ambient occlusion and floor shadows, with the
  constants of each renderer's look;
* :mod:`.preview`: the shaded preview renderer (:func:`~.preview.render_voxels`);
* :mod:`.photos`: the randomised training-photo renderer (:func:`~.photos.render_photos`);
* :mod:`.figures`: mosaics of pictures with labels, and PNG files.
"""

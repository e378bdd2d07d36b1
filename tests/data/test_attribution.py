"""The provenance of data sources, for model cards."""

import json

from shapespace.data.attribution import BUILTIN, IKEA, MODELNET, SHAPENET, data_attribution


def test_sources_are_recognised_by_specification_or_data_set_name():
    assert data_attribution("builtin:chair,table") == [BUILTIN]
    assert data_attribution("../shared/data/modelnet10-chair-vox30") == [MODELNET]
    assert data_attribution("/data/ModelNet10") == [MODELNET]
    assert data_attribution("shapenet-chair-binvox64") == [SHAPENET]
    assert data_attribution("../shared/data/ikea-dev") == [IKEA]
    assert data_attribution("my_scans/") == [None]
    assert data_attribution("builtin:bed + ../shared/data/modelnet10-pcd") == [BUILTIN, MODELNET]


def test_a_prepared_cache_is_traced_to_its_source(tmp_path):
    cache = tmp_path / "chairs-32"
    cache.mkdir()
    (cache / "cache.json").write_text(json.dumps({"format": "shapespace-voxel-cache", "source": "/work/shared/data/modelnet10-chair-vox30"}))
    assert data_attribution(str(cache)) == [MODELNET]
    (cache / "cache.json").write_text("{")  # unreadable: unknown, not an error
    assert data_attribution(str(cache)) == [None]


def test_every_attribution_states_its_terms():
    for attribution in (BUILTIN, MODELNET, SHAPENET, IKEA):
        assert attribution.name and attribution.terms
    assert "CVPR 2015" in MODELNET.cite and "ICCV 2013" in IKEA.cite and "arXiv:1512.03012" in SHAPENET.cite

# Two entry points for a newcomer: `make demo` and `make test`. Both create .venv and
# install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-e2e browser photo-deps photos serve bench bench-data bench-train bench-infer bench-render bench-web bench-ikea-reference bench-ttq fetch-furniture clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch 2.13.0 is the version shapespace is developed against (a CPU build where one is
	# available locally); pyproject.toml accepts any torch 2.x from 2.2.
	$(BIN)/pip install --quiet "torch==2.13.0" || $(BIN)/pip install --quiet "torch>=2.2,<3"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shapespace demo --out runs/demo --overwrite

test: $(STAMP) browser photo-deps
	$(BIN)/python -m pytest -q

# The web demo's browser test alone (tests/web/test_e2e.py).
test-e2e: $(STAMP) browser
	$(BIN)/python -m pytest -q -m e2e tests/web/test_e2e.py

# The browser test drives Debian's chromium through Playwright (Playwright's own browser
# download is not used). As root with apt-get, install chromium when it is missing (about
# 35 s, 114 MB); when that fails, the test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  echo "installing chromium for the browser test (apt-get)" && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1; } || \
	echo "chromium is not installed: the browser test will be skipped"

# The photo renderer (rendering/gl.py) draws through Mesa's EGL (llvmpipe on a CPU). As root
# with apt-get, install Mesa's EGL when it is missing (moderngl itself comes with `.[dev]` or
# `.[photos]`); when that fails, the renderer's tests are skipped and say why.
photo-deps:
	@{ ldconfig -p 2>/dev/null | grep -q 'libEGL_mesa.so.0' && ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1'; } || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  echo "installing Mesa's EGL for the photo renderer (apt-get)" && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libegl1 libegl-mesa0 libgl1-mesa-dri) >/dev/null 2>&1; } || \
	echo "Mesa's EGL is not installed: the photo renderer's tests will be skipped"

# Issue 16's training pictures: fetch the furniture, then render 64 pictures of each of its
# 147 shapes in random rooms into runs/photos/sh3d-64 (about 3 minutes on 2 cores).
photos: $(STAMP) photo-deps
	@[ -d data/sweethome3d ] || sh scripts/fetch_furniture.sh data/sweethome3d
	$(BIN)/shapespace data photos data/sweethome3d --views 64 --out runs/photos/sh3d-64

# The web demo for the model `make demo` trained; SERVE_FLAGS="--port 8000" etc.
serve: $(STAMP)
	$(BIN)/shapespace serve runs/demo $(SERVE_FLAGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/demo_quality.py

bench-data: $(STAMP)
	$(BIN)/python benchmarks/data_prepare.py

bench-train: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py

bench-infer: $(STAMP)
	$(BIN)/python benchmarks/bench_infer.py

bench-render: $(STAMP)
	$(BIN)/python benchmarks/bench_render.py

bench-web: $(STAMP)
	$(BIN)/python benchmarks/bench_web.py

bench-ikea-reference: $(STAMP)
	$(BIN)/python benchmarks/ikea_reference.py

# Hours of training in the background; resumable (run it again to continue).
bench-ttq: $(STAMP)
	$(BIN)/python benchmarks/time_to_quality.py --minutes 60 --eval-every 10

# Sweet Home 3D's furniture libraries from Debian into data/sweethome3d/ (not in git):
# apt-get download + dpkg-deb -x, nothing installed (scripts/fetch_furniture.sh).
fetch-furniture:
	sh scripts/fetch_furniture.sh data/sweethome3d

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis

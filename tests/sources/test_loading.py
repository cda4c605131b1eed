"""Loading Hugging Face checkpoints: parity with transformers, metadata, bad files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from transformers import AutoModelForMaskedLM

import mlmviz
from hf_checkpoints import ARCHITECTURES, make_checkpoint, reference_logits, untie_bert
from mlmviz.distributions import softmax
from mlmviz.model import Masked
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.sources.hf import load_hf_directory

ROOT = Path(__file__).resolve().parents[2]
MASK = {"bert": "[MASK]", "distilbert": "[MASK]", "roberta": "<mask>", "albert": "[MASK]",
        "electra": "[MASK]", "modernbert": "[MASK]", "xlm-roberta": "<mask>",
        "camembert": "<mask>"}
TEXT = "the cat sat on the {mask} and the dog ran to the {mask} ."


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {arch: make_checkpoint(arch, root / arch) for arch in ARCHITECTURES}


@pytest.fixture(scope="session")
def models(checkpoints):
    return {arch: mlmviz.load(path) for arch, path in checkpoints.items()}


def _copy(checkpoint, tmp_path):
    target = tmp_path / checkpoint.name
    target.mkdir()
    for file in checkpoint.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_logits_match_transformers(arch, models, checkpoints):
    model = models[arch]
    masked = model.mask(TEXT.format(mask=MASK[arch]))
    assert len(masked.positions) == 2
    reference = reference_logits(checkpoints[arch], np.array([masked.ids]))[0]
    ours = model.stages(masked)["logits"][0]
    difference = np.abs(ours - reference[list(masked.positions)]).max()
    print(f"{arch}: max |ours - transformers| = {difference:.2e}")
    assert difference <= 1e-4


@pytest.mark.parametrize("arch", ["bert", "albert", "modernbert"])
def test_layer_states_match_transformers_hidden_states(arch, models, checkpoints):
    model = models[arch]
    masked = model.mask(TEXT.format(mask=MASK[arch]))
    reference = AutoModelForMaskedLM.from_pretrained(checkpoints[arch]).eval()
    with torch.no_grad():
        hidden = reference(torch.tensor([masked.ids]), output_hidden_states=True).hidden_states
    expected = np.stack([h[0, list(masked.positions)].numpy() for h in hidden])
    states = model.layer_states(masked)
    assert states.shape == expected.shape == (3, 2, 32)
    np.testing.assert_allclose(states, expected, atol=1e-4)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_export_writes_back_the_same_tensors(arch, checkpoints, tmp_path):
    ported = load_hf_directory(checkpoints[arch])
    ported.save(tmp_path)
    original = load_file(checkpoints[arch] / "model.safetensors")
    exported = load_file(tmp_path / "model.safetensors")
    assert exported.keys() == original.keys()
    for name in original:
        np.testing.assert_allclose(exported[name], original[name], atol=1e-6, err_msg=name)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_fill_mask_result(arch, models):
    model = models[arch]
    result = model.fill_mask(TEXT.format(mask=MASK[arch]), top_k=7, temperature=0.7)
    assert result["model"] == str(model.metadata["source"])
    assert [m["position"] for m in result["masks"]] == sorted(m["position"] for m in result["masks"])
    for mask in result["masks"]:
        probabilities = [p["probability"] for p in mask["predictions"]]
        assert len(probabilities) == 7
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        for p in mask["predictions"]:
            assert model.vocabulary[p["token_id"]] == p["token"]


def test_metadata_describes_the_checkpoint(models, checkpoints):
    meta = models["albert"].metadata
    assert meta["architecture"] == "albert"
    assert (meta["num_layers"], meta["hidden_dim"], meta["tied"]) == (2, 32, True)
    assert meta["vocabulary_size"] == models["albert"].embedding_matrix.shape[0]
    assert models["albert"].embedding_matrix.shape[1] == 16  # factorised embedding
    assert len(meta["weight_hash"]) == 16
    assert all(m.head_check.trained for m in models.values())


def test_tokenizer_exposes_tokens_offsets_and_special_ids(models):
    tokenizer = models["bert"].tokenizer
    text = "the cat sat [MASK] ."
    encoding = tokenizer.encode(text)
    assert encoding.tokens[0] == "[CLS]" and encoding.tokens[-1] == "[SEP]"
    assert [text[a:b] for a, b in encoding.offsets[1:-1]] == ["the", "cat", "sat", "[MASK]", "."]
    assert encoding.special == (True, False, False, False, False, False, True)  # added specials
    assert tokenizer.special_tokens["[MASK]"] == tokenizer.mask_id == encoding.ids[4]
    assert {"[CLS]", "[SEP]", "[PAD]"} <= set(tokenizer.special_tokens)


@pytest.mark.parametrize("arch", ["roberta", "modernbert"])
def test_byte_level_tokens_read_as_the_text_they_stand_for(arch, models):
    tokenizer = models[arch].tokenizer
    encoding = tokenizer.encode("the cat sat\non the mat")
    words = [t for t, special in zip(encoding.tokens, encoding.special) if not special]
    assert "".join(words) == "the cat sat↵on the mat"
    assert not any(mark in token for token in models[arch].vocabulary for mark in "ĠĊ")
    assert tokenizer.readable("ĠcafÃ©") == " café"
    assert tokenizer.readable("ð") == "\\xf0"  # a byte that is no whole character
    assert tokenizer.readable("Ā") == "\\x00" and tokenizer.readable("Ġ") == "␣"
    assert tokenizer.readable(tokenizer.mask_token) == tokenizer.mask_token


def test_maskable_positions_are_the_words(models):
    model = models["bert"]
    encoding = model.tokenizer.encode("the [MASK] sat .")
    assert [encoding.tokens[i] for i in model.maskable_positions(encoding)] == ["the", "sat", "."]


def test_explicit_positions_mask_real_words(models):
    model = models["bert"]
    text = "the cat sat on the mat ."
    tokens = model.tokenizer.encode(text).tokens
    result = model.fill_mask(text, positions=[2])
    assert [m["position"] for m in result["masks"]] == [2]
    assert result["masks"][0]["original"] == tokens[2] == "cat"


@pytest.mark.parametrize(
    "text, positions, message",
    [
        ("", (), "empty"),
        ("the cat sat", (), "Nothing is masked"),
        ("the cat sat", (99,), "outside the text"),
        ("the cat sat", (0,), "special token"),
        ("the cat sat", (1.5,), "integers"),
    ],
)
def test_bad_requests_raise_value_errors(models, text, positions, message):
    with pytest.raises(ValueError, match=message):
        models["bert"].fill_mask(text, positions=positions)


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_bad_top_k_is_refused(models, top_k):
    with pytest.raises(ValueError, match="top_k"):
        models["bert"].fill_mask("a [MASK] b", top_k=top_k)


def test_huge_top_k_is_clipped_to_the_vocabulary(models):
    result = models["bert"].fill_mask("a [MASK] b", top_k=10**6)
    assert len(result["masks"][0]["predictions"]) == models["bert"].head.vocabulary_size


def test_text_over_the_length_limit_is_cut_and_flagged(models):
    result = models["bert"].fill_mask("[MASK] " + "cat " * 100)
    assert result["truncated"] and len(result["tokens"]) == 40


def test_checkpoint_without_head_is_flagged(tmp_path):
    model = mlmviz.load(make_checkpoint("bert", tmp_path / "base", with_head=False))
    assert not model.head_check.trained
    assert "no masked-LM head weights" in model.head_check.message


def test_freshly_initialised_head_is_flagged(checkpoints, tmp_path):
    directory = _copy(checkpoints["bert"], tmp_path)
    tensors = load_file(directory / "model.safetensors")
    tensors["cls.predictions.bias"][:] = 0
    tensors["cls.predictions.transform.LayerNorm.weight"][:] = 1
    tensors["cls.predictions.transform.LayerNorm.bias"][:] = 0
    save_file(tensors, directory / "model.safetensors")
    check = mlmviz.load(directory).head_check
    assert not check.trained and "freshly initialised" in check.message


def test_old_gamma_beta_names_load(checkpoints, tmp_path, models):
    directory = _copy(checkpoints["bert"], tmp_path)
    tensors = load_file(directory / "model.safetensors")
    for name in [n for n in tensors if "LayerNorm.weight" in n]:
        tensors[name.replace(".weight", ".gamma")] = tensors.pop(name)
    save_file(tensors, directory / "model.safetensors")
    text = "the [MASK] sat ."
    ours = mlmviz.load(directory).fill_mask(text)["masks"][0]["predictions"]
    reference = models["bert"].fill_mask(text)["masks"][0]["predictions"]
    assert [p["token"] for p in ours] == [p["token"] for p in reference]
    # A compiled graph may be traced for other shapes first: equal to float32 rounding.
    assert [p["probability"] for p in ours] == pytest.approx([p["probability"] for p in reference], abs=1e-6)


def test_untied_decoder_becomes_an_output_kernel(checkpoints, tmp_path):
    directory = untie_bert(_copy(checkpoints["bert"], tmp_path))
    model = mlmviz.load(directory)
    assert not model.metadata["tied"]
    masked = model.mask("the [MASK] sat .")
    reference = reference_logits(directory, np.array([masked.ids]))[0, list(masked.positions)]
    assert np.abs(model.stages(masked)["logits"][0] - reference).max() <= 1e-4


def test_wrong_shape_names_the_tensor_and_both_shapes(checkpoints, tmp_path):
    directory = _copy(checkpoints["bert"], tmp_path)
    tensors = load_file(directory / "model.safetensors")
    tensors["cls.predictions.bias"] = tensors["cls.predictions.bias"][:-1].copy()
    save_file(tensors, directory / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"'cls.predictions.bias' has shape \(299,\).*\(300,\)"):
        mlmviz.load(directory)


def test_missing_tensor_is_named(checkpoints, tmp_path):
    directory = _copy(checkpoints["roberta"], tmp_path)
    tensors = load_file(directory / "model.safetensors")
    del tensors["roberta.encoder.layer.1.output.dense.weight"]
    save_file(tensors, directory / "model.safetensors")
    with pytest.raises(CheckpointError, match="no tensor 'roberta.encoder.layer.1.output.dense.weight'"):
        mlmviz.load(directory)


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("config.json", "no config.json"),
        ("tokenizer.json", "no tokenizer"),
        ("model.safetensors", "no model.safetensors"),
        ("unknown", "Unsupported architecture 'gpt2'"),
        ("bad json", "not valid JSON"),
    ],
)
def test_broken_directories_give_one_clear_error(checkpoints, tmp_path, breakage, message):
    directory = _copy(checkpoints["bert"], tmp_path)
    if breakage == "unknown":
        (directory / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    elif breakage == "bad json":
        (directory / "config.json").write_text("{not json")
    else:
        (directory / breakage).unlink()
    with pytest.raises(CheckpointError, match=message):
        mlmviz.load(directory)


@pytest.mark.parametrize("architecture, expected", [
    ("bert", "tokenizer.json or vocab.txt"), ("roberta", "tokenizer.json"),
    ("albert", "tokenizer.json or spiece.model"),
])
def test_a_checkpoint_saved_without_its_tokenizer_is_told_what_is_missing(
        checkpoints, tmp_path, architecture, expected):
    """`AutoModelForMaskedLM.from_pretrained(DIR).save_pretrained(OUT)` writes no tokenizer."""
    directory = _copy(checkpoints[architecture], tmp_path)
    for path in directory.iterdir():
        if path.name not in ("config.json", "model.safetensors"):
            path.unlink()
    with pytest.raises(CheckpointError) as error:
        mlmviz.load(directory)
    assert str(error.value).startswith(f"{directory} has no tokenizer: it holds no {expected}.")
    assert "save_pretrained" in str(error.value)


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mlmviz", *args],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300,
    )


def test_hub_source_loads_offline_from_the_cache(checkpoints, tmp_path):
    """hf:ORG/NAME through a Hugging Face cache this test lays out itself."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-bert"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for file in checkpoints["bert"].iterdir():  # as the hub lays them out: links to blobs/
        (repo / "blobs" / file.name).write_bytes(file.read_bytes())
        (snapshot / file.name).symlink_to(f"../../blobs/{file.name}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    run = _cli(
        "predict", "the cat sat on the [MASK] .", "--model", "hf:tiny-org/tiny-bert", "--json",
        env={"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["model"] == "hf:tiny-org/tiny-bert"
    assert result["tokens"][6] == "[MASK]"


def test_hub_source_missing_from_the_cache_offline_is_one_sentence_saying_what_to_do(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("HF_")}
    run = subprocess.run(
        [sys.executable, "-m", "mlmviz", "predict", "a [MASK] b", "--model", "hf:nobody/nothing"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**env, "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 2
    assert run.stderr == (
        f"mlmviz: error: hf:nobody/nothing is not in the local Hugging Face cache "
        f"({tmp_path / 'hub'}) and cannot be downloaded now (downloads are off "
        "(HF_HUB_OFFLINE=1)): run `hf download nobody/nothing` on a machine with network and "
        "copy its models--nobody--nothing folder into that cache, or copy the checkpoint "
        "folder here and give its path.\n"
    )


def test_a_hub_id_that_is_not_org_name_says_so():
    with pytest.raises(CheckpointError, match=r"hf:\.\./x is not a Hub repository id"):
        mlmviz.load("hf:../x")


@pytest.mark.parametrize("arch", ["bert", "albert"])
def test_mlmviz_keras_file_round_trip(arch, models, tmp_path):
    model = models[arch]
    mlmviz.save(model, tmp_path / "model.keras")
    restored = mlmviz.load(tmp_path / "model.keras")
    text = TEXT.format(mask=MASK[arch])
    masked, again = model.mask(text), restored.mask(text)
    assert again == masked
    np.testing.assert_array_equal(restored.stages(again)["logits"], model.stages(masked)["logits"])
    np.testing.assert_array_equal(restored.layer_states(again), model.layer_states(masked))
    assert restored.head.token_embedding is not None and restored.metadata["tied"]
    np.testing.assert_array_equal(restored.embedding_matrix, model.embedding_matrix)
    assert restored.metadata["architecture"] == arch
    assert restored.metadata["source"] == str(tmp_path / "model.keras")
    assert restored.head_check.trained


def test_save_needs_a_keras_file_name(models, tmp_path):
    with pytest.raises(ValueError, match="must end in .keras"):
        mlmviz.save(models["bert"], tmp_path / "model.h5")


@pytest.mark.parametrize("arch", ["distilbert", "roberta"])
def test_save_refuses_nested_embeddings_with_a_reason(arch, models, tmp_path):
    with pytest.raises(ValueError, match=f"{arch} models cannot be saved as .keras yet"):
        mlmviz.save(models[arch], tmp_path / "model.keras")
    assert not (tmp_path / "model.keras").exists()


def test_hidden_word_probability_rank_and_entropy(models):
    model = models["bert"]
    text = "the cat sat on the mat ."
    mask = model.fill_mask(text, positions=[2], temperature=1.3)["masks"][0]
    masked = model.mask(text, positions=[2])
    probabilities = softmax(model.stages(masked)["logits"][0, 0], 1.3).astype("float64")
    cat = masked.encoding.ids[2]
    assert mask["original"] == "cat"
    assert mask["original_probability"] == pytest.approx(probabilities[cat], rel=1e-5)
    assert mask["original_rank"] == 1 + int((probabilities > probabilities[cat]).sum())
    assert mask["entropy"] == pytest.approx(-(probabilities * np.log(probabilities)).sum(), rel=1e-4)
    typed = model.fill_mask("the [MASK] sat .")["masks"][0]
    assert typed["original_probability"] is None and typed["original_rank"] is None


def test_targets_are_scored_at_every_mask(models):
    model = models["bert"]
    text = "the [MASK] sat on the [MASK] ."
    result = model.fill_mask(text, targets=["dog", "catsat"])
    probabilities = softmax(model.stages(model.mask(text))["logits"][0])  # (masks, vocab)
    for mask, row in zip(result["masks"], probabilities):
        dog, split = mask["targets"]
        assert (dog["word"], dog["token"], dog["split"]) == ("dog", "dog", False)
        assert dog["probability"] == pytest.approx(row[dog["token_id"]], rel=1e-6)
        assert dog["rank"] == 1 + int((row > row[dog["token_id"]]).sum())
        assert split["split"] and split["token"] == "cat"
    with pytest.raises(ValueError, match="has no tokens"):
        model.fill_mask("the [MASK] sat .", targets=["  "])


def test_sequential_filling_matches_a_brute_force_loop(models):
    model = models["bert"]
    masked = model.mask("the [MASK] sat on the [MASK] and the [MASK] ran .")
    ids, remaining, expected = list(masked.ids), list(masked.positions), []
    while remaining:
        probabilities = softmax(model.stages(Masked(masked.encoding, tuple(ids), tuple(remaining)))["logits"][0])
        best = max(
            ((probabilities[m, t], remaining[m], t) for m in range(len(remaining))
             for t in range(probabilities.shape[1])),
        )
        ids[best[1]] = best[2]
        remaining.remove(best[1])
        expected.append((best[1], best[2]))
    steps = model.fill_sequentially("the [MASK] sat on the [MASK] and the [MASK] ran .")
    assert [(s["position"], s["token_id"]) for s in steps] == expected
    first = max(
        (m["predictions"][0]["probability"], m["position"])
        for m in model.fill_mask("the [MASK] sat on the [MASK] and the [MASK] ran .")["masks"]
    )
    assert steps[0]["position"] == first[1]


def test_concurrent_requests_give_the_serial_results(models):
    """The app shares one model between sessions: threads must not interfere."""
    from concurrent.futures import ThreadPoolExecutor

    model = models["bert"]
    texts = [f"the [MASK] sat on the {word} ." for word in ("mat", "dog", "park", "cat")] * 4
    serial = [model.fill_mask(text, top_k=3) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda text: model.fill_mask(text, top_k=3), texts))
    assert parallel == serial


def test_modernbert_layouts_in_both_config_spellings_and_an_irregular_one_refused():
    from mlmviz.sources.hf import _modernbert_layout

    older = {"num_hidden_layers": 7, "global_attn_every_n_layers": 3,
             "global_rope_theta": 80_000.0, "local_rope_theta": 5_000.0}
    assert _modernbert_layout(older) == (3, 80_000.0, 5_000.0)
    newer = {"num_hidden_layers": 4, "layer_types": ["full_attention", "sliding_attention"] * 2,
             "rope_parameters": {"full_attention": {"rope_theta": 1e5, "rope_type": "default"},
                                 "sliding_attention": {"rope_theta": 1e4}}}
    assert _modernbert_layout(newer) == (2, 1e5, 1e4)
    assert _modernbert_layout({"num_hidden_layers": 2}) == (2, 160_000.0, 10_000.0)
    irregular = {**newer, "layer_types": ["full_attention", "sliding_attention",
                                          "full_attention", "full_attention"]}
    with pytest.raises(CheckpointError, match="do not repeat one global layer every n layers"):
        _modernbert_layout(irregular)
    scaled = {**newer, "rope_scaling": {"rope_type": "linear", "factor": 2.0}}
    with pytest.raises(CheckpointError, match="scales its rotary embedding"):
        _modernbert_layout(scaled)

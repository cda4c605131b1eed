"""`hub.fetch`: a Hub download with progress, against a stand-in Hub on 127.0.0.1."""

import pytest
from huggingface_hub import constants

from hf_checkpoints import make_checkpoint
from hub_server import refused_endpoint, serve, use_hub
from mlmviz.sources import hub
from mlmviz.sources.checkpoints import CheckpointError

REPO = "tiny-org/tiny-bert"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint("bert", tmp_path_factory.mktemp("hub") / "tiny-bert")


@pytest.fixture
def local_hub(checkpoint, tmp_path, monkeypatch):
    with serve({REPO: checkpoint}) as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "cache")
        yield server


def _fetch(repo=REPO):
    reports = []
    path = hub.fetch(repo, lambda done, total: reports.append((done, total)))
    return path, reports


def _downloads(server):
    return [path for method, path in server.requests if method == "GET" and "/resolve/" in path]


def test_fetch_reports_the_bytes_rising_to_the_total_and_fills_the_cache(
        local_hub, checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 4096)  # several reports per file
    path, reports = _fetch()
    files = sorted(checkpoint.iterdir())
    total = sum(file.stat().st_size for file in files)
    assert reports[0] == (0, total)
    assert reports[-1] == (total, total)
    done = [d for d, _ in reports]
    assert done == sorted(done), "the bytes done never go back"
    assert {t for _, t in reports} == {total}
    assert len(reports) > total // 4096, "a report per chunk"
    assert path == tmp_path / "cache" / "models--tiny-org--tiny-bert" / "snapshots" / path.name
    assert sorted(f.name for f in path.iterdir()) == [f.name for f in files]
    for file in files:
        assert (path / file.name).read_bytes() == file.read_bytes()
    assert len(_downloads(local_hub)) == len(files)


def test_a_second_fetch_is_a_cache_hit_that_asks_the_hub_nothing(local_hub, checkpoint):
    first, _ = _fetch()
    asked = len(local_hub.requests)
    second, reports = _fetch()
    assert second == first
    assert local_hub.requests[asked:] == []
    size = sum(file.stat().st_size for file in checkpoint.iterdir())
    assert reports == [(size, size)]
    assert hub.cached_snapshot(REPO) == first


def test_an_interrupted_fetch_is_not_cached_and_the_next_one_gets_only_what_is_missing(
        checkpoint, tmp_path, monkeypatch):
    with serve({REPO: checkpoint}, missing={"tokenizer_config.json"}) as broken:
        use_hub(monkeypatch, broken.endpoint, tmp_path / "cache")
        with pytest.raises(CheckpointError, match=f"^hf:{REPO} could not be fetched"):
            _fetch()
    assert hub.cached_snapshot(REPO) is None
    with serve({REPO: checkpoint}) as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "cache")
        path, reports = _fetch()
    assert _downloads(server) == [f"/{REPO}/resolve/{'feedface' * 5}/tokenizer_config.json"]
    total = reports[0][1]
    assert reports[-1] == (total, total) and reports[1][0] > 0  # the cached files count as done
    assert hub.cached_snapshot(REPO) == path


def test_a_refused_network_is_one_sentence_and_nothing_is_cached(tmp_path, monkeypatch):
    use_hub(monkeypatch, refused_endpoint(), tmp_path / "cache")
    with pytest.raises(CheckpointError) as caught:
        _fetch("org/never-seen")
    assert str(caught.value) == (
        f"hf:org/never-seen is not in the local Hugging Face cache ({tmp_path / 'cache'}) and "
        "cannot be downloaded now (the Hub cannot be reached): run `hf download org/never-seen` "
        "on a machine with network and copy its models--org--never-seen folder into that "
        "cache, or copy the checkpoint folder here and give its path."
    )
    assert hub.cached_snapshot("org/never-seen") is None


def test_offline_mode_asks_the_hub_nothing_and_says_downloads_are_off(local_hub, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CheckpointError, match=r"downloads are off \(HF_HUB_OFFLINE=1\)"):
        _fetch()
    assert local_hub.requests == []


def test_a_cached_fetch_works_offline(local_hub, monkeypatch):
    first, _ = _fetch()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert _fetch()[0] == first


@pytest.mark.parametrize("done, total, text", [
    (12_345_678, 440_449_768, "12.3 of 440 MB (2 %)"),
    (0, 47_372_894, "0 of 47.4 MB (0 %)"),
    (117_743, 117_743, "0.118 of 0.118 MB (100 %)"),
])
def test_progress_text(done, total, text):
    assert hub.progress_text(done, total) == text


def test_an_albert_with_only_spiece_model_is_fetched_whole_and_loads(tmp_path, monkeypatch):
    from hf_checkpoints import make_tokenizer_variant

    import mlmviz

    checkpoint = make_tokenizer_variant("albert-spiece", tmp_path / "albert")
    assert (checkpoint / "spiece.model").is_file()
    assert not (checkpoint / "tokenizer.json").exists()
    with serve({"tiny-org/tiny-albert": checkpoint}) as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "cache")
        path, _ = _fetch("tiny-org/tiny-albert")
        model = mlmviz.load("hf:tiny-org/tiny-albert")
    assert (path / "spiece.model").read_bytes() == (checkpoint / "spiece.model").read_bytes()
    assert model.metadata["architecture"].lower().startswith("albert")


@pytest.mark.parametrize("repo, architecture", [
    ("answerdotai/ModernBERT-base", "modernbert"),
    ("jhu-clsp/ettin-encoder-17m", "modernbert"),
    ("google/electra-small-generator", "electra"),
    ("FacebookAI/xlm-roberta-base", "xlm-roberta"),
    ("almanach/camembert-base", "camembert"),
])
def test_the_new_well_known_ids_load_from_the_hub(repo, architecture, tmp_path, monkeypatch):
    """The newer well-known models, as tiny stand-ins of their architecture under their ids."""
    import mlmviz
    from mlmviz.sources.known import known

    assert known(repo) is not None
    checkpoint = make_checkpoint(architecture, tmp_path / architecture)
    with serve({repo: checkpoint}) as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "cache")
        model = mlmviz.load(f"hf:{repo}")
    assert model.metadata["architecture"] == architecture
    result = model.fill_mask(f"the cat sat on the {model.tokenizer.mask_token} .", top_k=3)
    assert len(result["masks"]) == 1 and len(result["masks"][0]["predictions"]) == 3

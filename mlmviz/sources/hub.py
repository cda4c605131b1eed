"""`hf:ORG/NAME`: a Hugging Face Hub repository, through the local Hugging Face cache.

Only the safetensors, JSON and vocabulary files (vocab.txt, spiece.model) are fetched. With
`HF_HUB_OFFLINE=1`, or when the Hub cannot be reached, what the cache holds
is used. A failure is one sentence that says what to do, not the Hub's own
error text.

`snapshot` is what `mlmviz.load("hf:…")` uses; `fetch` is the download with
progress (the app's well-known models): it trusts a complete cached snapshot
without asking the Hub, and reports the bytes as they arrive.
"""

import contextlib
import fnmatch
from pathlib import Path

from mlmviz.sources.checkpoints import CheckpointError

HUB_FILES = ("*.json", "*.safetensors", "vocab.txt", "spiece.model")
TIMEOUT_S = 10  # seconds to wait for the Hub's file listing


def snapshot(repo_id):
    """Local directory of `repo_id` ("ORG/NAME") in the Hugging Face cache.

    Raises:
        CheckpointError: the repository is neither cached nor downloadable now,
            does not exist (or is private), or `repo_id` is not ORG/NAME.
    """
    import huggingface_hub

    with _one_sentence(repo_id):
        return Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=list(HUB_FILES)))


def cached_snapshot(repo_id):
    """The cached snapshot of `repo_id` if it is complete, else None; never asks the Hub.

    Complete: its ref (refs/main, written when a download finishes in `fetch`,
    or starts in `snapshot_download` with the repository's listing beside it)
    names a snapshot that holds config.json, a .safetensors file and every
    file of that listing, where there is one.
    """
    import huggingface_hub
    from huggingface_hub import errors

    try:
        path = Path(huggingface_hub.snapshot_download(
            repo_id, allow_patterns=list(HUB_FILES), local_files_only=True))
    except (errors.LocalEntryNotFoundError, errors.HFValidationError):
        return None
    complete = (path / "config.json").is_file() and any(path.glob("*.safetensors"))
    return path if complete else None


def fetch(repo_id, report):
    """`snapshot(repo_id)`, downloading what the cache lacks with progress.

    A complete cached snapshot (`cached_snapshot`) is used without asking the
    Hub, after `report(size, size)`. Otherwise the repository's safetensors,
    JSON and vocabulary files are downloaded one by one, calling
    `report(done, total)` in bytes: first with done 0, then after each chunk,
    last with done == total. Files already in the cache (an interrupted
    fetch) count as done and are not downloaded again.

    Raises:
        CheckpointError: as `snapshot`; "cannot be reached" when the network fails.
    """
    cached = cached_snapshot(repo_id)
    if cached is not None:
        size = sum(file.stat().st_size for file in cached.rglob("*") if file.is_file())
        report(size, size)
        return cached
    import huggingface_hub

    with _one_sentence(repo_id):
        info = huggingface_hub.HfApi().model_info(repo_id, files_metadata=True, timeout=TIMEOUT_S)
        files = [sibling for sibling in info.siblings if _wanted(sibling.rfilename)]
        progress = _Progress(report, total=sum(sibling.size or 0 for sibling in files))
        for sibling in files:
            huggingface_hub.hf_hub_download(
                repo_id, sibling.rfilename, revision=info.sha, tqdm_class=progress.bar_class())
            progress.file_done(sibling.size or 0)
        # Every file is in place now: this writes refs/main and the cached listing.
        return Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=list(HUB_FILES)))


def progress_text(done, total):
    """"12.3 of 440 MB (2 %)": `done` of `total` bytes in megabytes (10**6 bytes, as the Hub
    counts), the percentage rounded down."""
    percent = 100 if total <= 0 else int(100 * done / total)
    return f"{_megabytes(done)} of {_megabytes(total)} MB ({percent} %)"


def _megabytes(count):
    value = count / 1e6
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _wanted(filename):
    return any(fnmatch.fnmatch(filename, pattern) for pattern in HUB_FILES)


class _Progress:
    """The bytes done of one `fetch`, passed on to `report(done, total)`."""

    def __init__(self, report, total):
        self.report, self.total = report, total
        self.finished = 0  # bytes of the files done
        self.done = 0
        report(0, total)

    def add(self, count):
        """`count` more bytes of the current file were written (negative: a retry restarts)."""
        self.done = min(max(self.done + count, self.finished), self.total)
        self.report(self.done, self.total)

    def file_done(self, size):
        self.finished = self.done = min(self.finished + size, self.total)
        self.report(self.done, self.total)

    def bar_class(self):
        """A stand-in for tqdm that huggingface_hub's download calls with the bytes written.

        `update_transfer` (network bytes: the same bytes over HTTP, fewer for
        Xet's deduplicated transfers) is not counted; its presence makes Xet
        downloads report through this one bar.
        """
        progress = self

        class Bar:
            def __init__(self, *args, total=None, initial=0, **kwargs):
                self.n, self.total = initial, total

            def update(self, count=1):
                self.n += count
                progress.add(count)

            def update_transfer(self, count=1):
                pass

            def set_postfix_str(self, *args, **kwargs):
                pass

            set_transfer_postfix_str = set_postfix_str

            def refresh(self):
                pass

            def close(self):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc_info):
                self.close()

        return Bar


@contextlib.contextmanager
def _one_sentence(repo_id):
    """Turn the Hub's errors for `repo_id` into one `CheckpointError` sentence."""
    import httpx2
    from huggingface_hub import errors

    try:
        yield
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, httpx2.TransportError):
        raise CheckpointError(_not_cached(repo_id)) from None
    except errors.RepositoryNotFoundError:
        raise CheckpointError(
            f"hf:{repo_id} is not a repository on the Hugging Face Hub, or it is private "
            "or gated (log in with `hf auth login` first)."
        ) from None
    except errors.HFValidationError:
        raise CheckpointError(f"hf:{repo_id} is not a Hub repository id: write hf:ORG/NAME.") from None
    except Exception as error:  # hub errors have many more types
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"hf:{repo_id} could not be fetched: {first_line}") from None


def _not_cached(repo_id):
    """The one sentence for a repository missing from the cache while the Hub is out of reach."""
    from huggingface_hub import constants

    why = "downloads are off (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE else (
        "the Hub cannot be reached")
    return (
        f"hf:{repo_id} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and "
        f"cannot be downloaded now ({why}): run `hf download {repo_id}` on a machine with "
        f"network and copy its models--{repo_id.replace('/', '--')} folder into that cache, "
        "or copy the checkpoint folder here and give its path."
    )

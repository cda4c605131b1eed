"""`hf:ORG/NAME`: a Hugging Face Hub repository, through the local Hugging Face cache.

Only the safetensors, JSON and vocabulary files are fetched. With
`HF_HUB_OFFLINE=1`, or when the Hub cannot be reached, what the cache holds
is used. A failure is one sentence that says what to do, not the Hub's own
error text.
"""

from pathlib import Path

from mlmviz.sources.checkpoints import CheckpointError

HUB_FILES = ("*.json", "*.safetensors", "vocab.txt")


def snapshot(repo_id):
    """Local directory of `repo_id` ("ORG/NAME") in the Hugging Face cache.

    Raises:
        CheckpointError: the repository is neither cached nor downloadable now,
            does not exist (or is private), or `repo_id` is not ORG/NAME.
    """
    import huggingface_hub
    from huggingface_hub import errors

    try:
        return Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=list(HUB_FILES)))
    except errors.LocalEntryNotFoundError:
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

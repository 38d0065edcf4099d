"""Publishing a built dataset folder to the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import validate_repo_id

from crossmath.dataset.pipeline import MANIFEST, BuildError


def check_repo_id(repo_id: str) -> None:
    """Raise BuildError unless ``repo_id`` is a valid Hub repo id (``owner/name``)."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise BuildError(f"--push-to-hub {repo_id!r} is not a Hub repo id such as you/crossmath: "
                         f"{str(exc).splitlines()[0]}") from None


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
                api: HfApi | None = None) -> str:
    """Create the dataset repo if needed and upload the folder (resumable: a rerun skips what is there).

    Returns the dataset's address. The token is passed on, never printed.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file() or not (folder / "README.md").is_file():
        raise BuildError(f"{folder} is not a finished crossmath build with a dataset card")
    token = token or get_token()
    if not token:
        raise BuildError("not logged in to the Hugging Face Hub: run `hf auth login` or pass --token")
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset",
                          commit_message="Upload crossmath dataset")
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401:
            raise BuildError("the Hub refused the token: log in again with `hf auth login`") from None
        if status in (403, 409):
            raise BuildError(f"cannot write to {repo_id}: it belongs to someone else, or the token may not write "
                             "there") from None
        raise BuildError(f"the Hub refused the upload to {repo_id} (HTTP {status})") from None
    except Exception as exc:  # offline, no route, bad repo id (each client raises its own type): one line, no token
        raise BuildError(f"upload to {repo_id} failed: {str(exc).replace(token, '***')}") from None
    return f"https://huggingface.co/datasets/{repo_id}"

"""Fixtures shared by the AppTest files."""

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager


@pytest.fixture
def made(monkeypatch):
    """File name -> the callable a download button registered to build it."""
    made = {}
    register = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return made

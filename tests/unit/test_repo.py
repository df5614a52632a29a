"""Shipit's own git steps on real folders: changed files, commit without build output, push by URL."""

import subprocess

import pytest

from agent.repo import PushRejectedError, Repo
from local.origin import origin_head, seed_origin


@pytest.fixture
def repo(tmp_path):
    origin = seed_origin(tmp_path / "origin.git")
    repo = Repo(path=tmp_path / "clone", url=str(origin))
    main = repo.sync()
    repo.start_branch("preview/x", main)
    return repo


def test_changed_files_lists_modified_new_and_deleted_exactly(repo):
    (repo.path / "src" / "style.css").write_text("changed")
    (repo.path / "src" / "new file.js").write_text("x")
    (repo.path / "tests" / "page.test.js").unlink()
    assert sorted(repo.changed_files()) == [
        "src/new file.js",
        "src/style.css",
        "tests/page.test.js",
    ]


def test_commit_leaves_out_the_build_output(repo):
    (repo.path / "src" / "style.css").write_text("changed")
    (repo.path / "out").mkdir()
    (repo.path / "out" / "index.html").write_text("built")
    commit = repo.commit_all("change", exclude="out")
    files = repo.git("show", "--name-only", "--format=", commit).splitlines()
    assert files == ["src/style.css"]


def test_push_goes_to_the_configured_url_not_the_remote_in_git_config(repo, tmp_path):
    decoy = tmp_path / "decoy.git"
    subprocess.run(["git", "init", "-q", "--bare", str(decoy)], check=True)
    repo.git("remote", "set-url", "origin", str(decoy))  # as code run by the checks might
    (repo.path / "src" / "style.css").write_text("changed")
    commit = repo.commit_all("change")
    repo.push(commit)
    assert origin_head(tmp_path / "origin.git") == commit
    assert (
        subprocess.run(
            ["git", "-C", str(decoy), "rev-parse", "main"], capture_output=True
        ).returncode
        != 0
    )


def test_git_config_cannot_make_shipit_run_a_program(repo, tmp_path):
    marker = tmp_path / "ran"
    repo.git("config", "core.fsmonitor", f"touch {marker}; false")
    (repo.path / "src" / "style.css").write_text("changed")
    assert repo.changed_files() == ["src/style.css"]
    assert not marker.exists()


def test_rejected_push_is_its_own_error(repo, tmp_path):
    (repo.path / "src" / "style.css").write_text("changed")
    commit = repo.commit_all("change")
    repo.url = str(tmp_path / "missing.git")
    with pytest.raises(PushRejectedError):
        repo.push(commit)


def test_commit_works_when_the_ignored_build_output_exists(repo):
    (repo.path / "dist").mkdir()  # the sample app ignores dist/
    (repo.path / "dist" / "index.html").write_text("built")
    (repo.path / "src" / "style.css").write_text("changed")
    commit = repo.commit_all("change", exclude="dist")
    assert repo.git("show", "--name-only", "--format=", commit).splitlines() == ["src/style.css"]

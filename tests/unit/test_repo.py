"""Shipit's own git steps on real folders: changed files, commit without build output, push by URL."""

import subprocess
from contextlib import contextmanager

import pytest

from agent.repo import GIT_IDENTITY, PushRejectedError, RebaseConflictError, Repo
from agent.secrets import DeployKey
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


def test_fetch_comes_from_the_configured_url_not_the_remote_in_git_config(repo, tmp_path):
    decoy = tmp_path / "decoy.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(tmp_path / "origin.git"), str(decoy)], check=True
    )
    repo.git("remote", "set-url", "origin", str(decoy))
    work = tmp_path / "other"
    other = Repo(path=work, url=str(tmp_path / "origin.git"))
    other.sync()
    other.start_branch("x", "origin/main")
    (work / "src" / "style.css").write_text("moved on")
    new_main = other.commit_all("elsewhere")
    other.push(new_main)
    assert repo.sync() == new_main


def test_deploy_key_exists_only_during_network_calls(repo, tmp_path):
    key = DeployKey("-----BEGIN OPENSSH PRIVATE KEY-----", tmp_path / "keys")
    seen = []

    @contextmanager
    def recording():
        with key.ssh_command() as command:
            seen.append((command, [p.name for p in (tmp_path / "keys").glob("deploy_key.*")]))
            yield command

    repo.credentials = recording
    repo.sync()
    assert seen and "-i" in seen[0][0] and len(seen[0][1]) == 1
    assert not list((tmp_path / "keys").glob("deploy_key.*"))
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"


_ENV = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/tmp", **GIT_IDENTITY}


def _commit(path, name, text, message):
    (path / name).write_text(text)
    subprocess.run(["git", "add", name], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=path, check=True, env=_ENV)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_rebase_replays_a_branch_on_a_moved_main_or_undoes_a_clash(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
    base = _commit(work, "a.txt", "one\ntwo\nthree\nfour\nfive\n", "base")
    repo = Repo(path=work, url=str(work))
    repo.start_branch("preview/x", base)
    mine = _commit(work, "a.txt", "ONE\ntwo\nthree\nfour\nfive\n", "mine")
    repo.start_branch("other", base)
    theirs = _commit(work, "a.txt", "one\ntwo\nthree\nfour\nFIVE\n", "theirs")

    repo.start_branch("preview/y", mine)
    repo.rebase(theirs)
    assert (work / "a.txt").read_text() == "ONE\ntwo\nthree\nfour\nFIVE\n"
    assert repo.is_ancestor(theirs, repo.head())

    repo.start_branch("clashing", base)
    clash = _commit(work, "a.txt", "uno\ntwo\nthree\nfour\nfive\n", "clash")
    repo.start_branch("preview/z", mine)
    with pytest.raises(RebaseConflictError):
        repo.rebase(clash)
    assert repo.head() == mine and repo.changed_files() == []  # undone, work tree clean

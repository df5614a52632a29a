"""The target repo's .shipit.toml: defaults, parsing, refusals."""

import pytest

from agent.repo_config import RepoConfig, RepoConfigError, load_repo_config, parse_repo_config


def test_defaults_when_missing(tmp_path):
    assert load_repo_config(tmp_path) == RepoConfig()


def test_sample_app_config(tmp_path):
    config = parse_repo_config(
        'validate = "node --test"\nbuild = "node build.js"\noutput = "dist"\nallowed_paths = ["src", "./tests/"]\n'
    )
    assert config.allowed_paths == ("src/", "tests/")
    assert config.commands == ("node --test", "node build.js")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("valdate = 'x'", "valdate"),
        ("validate = 3", "validate"),
        ("allowed_paths = '/etc'", "allowed_paths"),
        ("allowed_paths = ['../up']", "allowed_paths"),
        ("output = '/tmp'", "output"),
        ("allow_lockfiles = 'yes'", "allow_lockfiles"),
        ("validate = ", "(file)"),
    ],
)
def test_bad_config_is_refused_with_the_key(text, key):
    with pytest.raises(RepoConfigError) as info:
        parse_repo_config(text)
    assert info.value.key == key


def test_dot_dirs_keep_their_dot():
    assert parse_repo_config("allowed_paths = ['.storybook']").allowed_paths == (".storybook/",)

"""Tests for bot.config: defaults, path resolution, every kind of problem report, the
environment, secrecy of the token, and that config.example.yaml stays complete and valid."""

from __future__ import annotations

import dataclasses
import os
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import (
    Config,
    ConfigError,
    DiscordConfig,
    FeedConfig,
    FeedSourceConfig,
    load_config,
)
from tests.conftest import billion_laughs, finishes, release_fifo

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "config.example.yaml"
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-token-value"


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    """Load `text` as ./config.yaml (so problems start "config.yaml:") and return the reported problems (the load must fail)."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("config.yaml"), env=env or {}, cwd=tmp_path)
    return caught.value.problems


def only_problem(tmp_path: Path, text: str) -> str:
    problems = problems_for(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


# ----------------------------------------------------------------------------------------------
# Defaults and paths.


def test_no_file_gives_defaults_resolved_against_cwd(tmp_path: Path) -> None:
    cwd = tmp_path.resolve()
    config = load_config(env={}, cwd=tmp_path)
    assert config == Config(corpus_dir=cwd / "corpus", data_dir=cwd / "data")
    assert config.config_path is None
    assert config.log_level == "INFO"
    assert config.max_file_bytes == 1_000_000
    assert config.discord == DiscordConfig(token=None)
    assert config.feed == FeedConfig()
    assert config.feed.sources == ()
    assert config.db_path == cwd / "data" / "corpus.db"


def test_config_yaml_in_cwd_is_read_when_no_path_given(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: DEBUG\n")
    config = load_config(env={}, cwd=tmp_path)
    assert config.log_level == "DEBUG"
    assert config.config_path == path.resolve()


def test_problems_in_default_file_are_labelled_config_yaml(tmp_path: Path) -> None:
    write(tmp_path, "\nlog_level: LOUD\n")
    with pytest.raises(ConfigError) as caught:
        load_config(env={}, cwd=tmp_path)
    assert caught.value.problems[0].startswith("config.yaml:2: log_level: ")


def test_process_cwd_and_environ_are_used_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.delenv("CORPUS_BOT_DATA_DIR", raising=False)
    config = load_config()
    assert config.corpus_dir == tmp_path.resolve() / "corpus"
    assert config.discord.token == TOKEN


def test_explicit_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml", env={}, cwd=tmp_path)
    assert caught.value.problems == [f"config file not found: {tmp_path / 'nope.yaml'}"]


def test_explicit_relative_path_resolves_against_cwd(tmp_path: Path) -> None:
    write(tmp_path / "etc", "max_file_bytes: 2048\n", name="bot.yaml")
    config = load_config(Path("etc/bot.yaml"), env={}, cwd=tmp_path)
    assert config.max_file_bytes == 2048
    assert config.config_path == (tmp_path / "etc" / "bot.yaml").resolve()


def test_relative_paths_in_file_resolve_against_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deploy" / "conf"
    path = write(folder, "corpus_dir: ../documents\ndata_dir: state\n")
    config = load_config(path, env={}, cwd=tmp_path / "elsewhere")
    assert config.corpus_dir == (tmp_path / "deploy" / "documents").resolve()
    assert config.data_dir == (folder / "state").resolve()
    assert config.db_path == (folder / "state" / "corpus.db").resolve()


def test_absolute_and_home_paths_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    absolute = (tmp_path / "abs" / "corpus").resolve()
    path = write(tmp_path, f"corpus_dir: {absolute}\ndata_dir: ~/bot-data\n")
    config = load_config(path, env={}, cwd=tmp_path)
    assert config.corpus_dir == absolute
    assert config.data_dir == (tmp_path / "home" / "bot-data").resolve()


def test_empty_file_and_empty_sections_mean_defaults(tmp_path: Path) -> None:
    defaults = load_config(env={}, cwd=tmp_path)
    for text in ("", "# only a comment\n", "discord:\nfeed:\n", "discord: {}\nfeed: {}\n"):
        path = write(tmp_path, text, name="settings.yaml")
        config = load_config(path, env={}, cwd=tmp_path)
        assert dataclasses.replace(config, config_path=None) == defaults, text


def test_every_setting_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
corpus_dir: docs
data_dir: /srv/bot
log_level: warning
max_file_bytes: 4096
discord:
  api_base: http://127.0.0.1:8080/api/v10/
  gateway_url: ws://127.0.0.1:8080
  dev_guild_id: 123456789012345678
  admin_user_ids: [111111111111111111, "222222222222222222", 111111111111111111]
  shard_count: 4
  shard_ids: [0, 3]
  sync_on_start: false
  cooldown_seconds: 2
feed:
  interval_seconds: 60
  max_announcements_per_cycle: 3
  user_agent: test-agent/1.0
  timeout_seconds: 5
  max_bytes: 100000
  backoff_base_seconds: 10
  backoff_max_seconds: 20.5
  pause_after_failures: 2
  allow_private_addresses: true
  sources:
    - name: partnership-on-ai
      url: https://medium.com/feed/partnership-on-ai
    - {name: local-1, url: "http://127.0.0.1:9000/feed.xml"}
""",
    )
    config = load_config(path, env={}, cwd=tmp_path)
    assert config.corpus_dir == tmp_path.resolve() / "docs"
    assert config.data_dir == Path("/srv/bot")
    assert config.log_level == "WARNING"
    assert config.max_file_bytes == 4096
    assert config.discord == DiscordConfig(
        token=None,
        api_base="http://127.0.0.1:8080/api/v10",
        gateway_url="ws://127.0.0.1:8080",
        dev_guild_id=123456789012345678,
        admin_user_ids=(111111111111111111, 222222222222222222),
        shard_count=4,
        shard_ids=(0, 3),
        sync_on_start=False,
        cooldown_seconds=2.0,
    )
    assert config.feed == FeedConfig(
        interval_seconds=60,
        max_announcements_per_cycle=3,
        user_agent="test-agent/1.0",
        timeout_seconds=5.0,
        max_bytes=100_000,
        backoff_base_seconds=10.0,
        backoff_max_seconds=20.5,
        pause_after_failures=2,
        allow_private_addresses=True,
        sources=(
            FeedSourceConfig("partnership-on-ai", "https://medium.com/feed/partnership-on-ai"),
            FeedSourceConfig("local-1", "http://127.0.0.1:9000/feed.xml"),
        ),
    )
    assert isinstance(config.feed.timeout_seconds, float)


def test_optional_settings_accept_null(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "discord:\n  api_base: null\n  dev_guild_id: ~\n  shard_count: null\n  shard_ids: null\n",
    )
    assert load_config(path, env={}, cwd=tmp_path).discord == DiscordConfig()


def test_shard_count_alone_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "discord:\n  shard_count: 2\n")
    discord = load_config(path, env={}, cwd=tmp_path).discord
    assert (discord.shard_count, discord.shard_ids) == (2, None)


# ----------------------------------------------------------------------------------------------
# Problems: each names the key path and the line.


def test_unknown_key_suggests_the_closest_one(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "log_level: INFO\ndiscord:\n  admin_ids: [1]\n")
    assert problem.startswith("config.yaml:3: discord.admin_ids: unknown key")
    assert "did you mean 'admin_user_ids'?" in problem


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, "feed:\n  sources:\n    - name: a\n      url: http://x.org\n      zz: 1\n"
    )
    assert problem == "config.yaml:5: feed.sources[0].zz: unknown key (known keys: name, url)"


def test_non_text_key_is_reported(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "feed:\n  123: x\n")
    assert problem.startswith("config.yaml:2: feed: ")


def test_key_set_twice_is_reported(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "log_level: INFO\nmax_file_bytes: 2048\nlog_level: DEBUG\n")
    assert problem == "config.yaml:3: log_level: set twice (first on line 1)"


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"),
    [
        ("max_file_bytes: true\n", 1, "max_file_bytes", "expected an integer, got true"),
        ("feed:\n  interval_seconds: '900'\n", 2, "feed.interval_seconds", "got '900'"),
        ("feed:\n  max_bytes: 2.5\n", 2, "feed.max_bytes", "expected an integer, got 2.5"),
        (
            "discord:\n  sync_on_start: 'yes'\n",
            2,
            "discord.sync_on_start",
            "expected true or false",
        ),
        ("discord:\n  sync_on_start: 1\n", 2, "discord.sync_on_start", "expected true or false"),
        ("discord:\n  cooldown_seconds: false\n", 2, "discord.cooldown_seconds", "got false"),
        ("feed:\n  timeout_seconds: [1]\n", 2, "feed.timeout_seconds", "got a list"),
        ("feed:\n  user_agent: 12\n", 2, "feed.user_agent", "expected text, got 12"),
        ("log_level: 3\n", 1, "log_level", "expected one of DEBUG, INFO, WARNING, ERROR"),
        ("corpus_dir: {a: 1}\n", 1, "corpus_dir", "expected a folder path, got a mapping"),
        ("discord:\n  dev_guild_id: abc\n", 2, "discord.dev_guild_id", "got 'abc'"),
        ("discord:\n  admin_user_ids: 5\n", 2, "discord.admin_user_ids", "expected a list, got 5"),
        (
            "discord:\n  shard_count: 1\n  shard_ids: [true]\n",
            3,
            "discord.shard_ids[0]",
            "got true",
        ),
        ("discord: [1, 2]\n", 1, "discord", "expected a mapping of settings, got a list"),
        ("feed:\n  sources: {a: b}\n", 2, "feed.sources", "expected a list, got a mapping"),
        ("feed:\n  sources: [5]\n", 2, "feed.sources[0]", "expected a mapping of settings, got 5"),
        (
            "feed:\n  sources:\n    - name: no\n      url: http://a.org\n",
            3,
            "feed.sources[0].name",
            "got false",
        ),
    ],
)
def test_wrong_types_are_reported(
    tmp_path: Path, text: str, line: int, key: str, expected: str
) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.startswith(f"config.yaml:{line}: {key}: "), problem
    assert expected in problem


def test_admin_user_id_problem_matches_documented_format(tmp_path: Path) -> None:
    text = "discord:\n  admin_user_ids:\n    - 123456789012345678\n    - bob\n"
    assert only_problem(tmp_path, text) == (
        "config.yaml:4: discord.admin_user_ids[1]: expected an integer (a Discord user id), "
        "got 'bob'"
    )


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"),
    [
        ("feed:\n  interval_seconds: 59\n", 2, "feed.interval_seconds", "between 60 and"),
        (
            "feed:\n  max_announcements_per_cycle: 0\n",
            2,
            "feed.max_announcements_per_cycle",
            "got 0",
        ),
        ("feed:\n  timeout_seconds: -1\n", 2, "feed.timeout_seconds", "more than 0"),
        ("feed:\n  timeout_seconds: .nan\n", 2, "feed.timeout_seconds", "got nan"),
        ("feed:\n  pause_after_failures: 0\n", 2, "feed.pause_after_failures", "got 0"),
        ("feed:\n  allow_private_addresses: yes please\n", 2, "feed.allow_private_addresses", ""),
        ("max_file_bytes: -5\n", 1, "max_file_bytes", "got -5"),
        ("discord:\n  cooldown_seconds: 0\n", 2, "discord.cooldown_seconds", "more than 0"),
        ("discord:\n  dev_guild_id: -3\n", 2, "discord.dev_guild_id", "positive"),
        ("discord:\n  shard_count: 0\n", 2, "discord.shard_count", "got 0"),
        (
            "discord:\n  shard_count: 2\n  shard_ids: [0, 2]\n",
            3,
            "discord.shard_ids[1]",
            "less than discord.shard_count (2), got 2",
        ),
        (
            "discord:\n  shard_count: 2\n  shard_ids: [1, 1]\n",
            3,
            "discord.shard_ids[1]",
            "listed twice",
        ),
        ("discord:\n  shard_count: 2\n  shard_ids: []\n", 3, "discord.shard_ids", "at least one"),
        ("log_level: verbose\n", 1, "log_level", "got 'verbose'"),
        (
            "feed:\n  backoff_base_seconds: 600\n  backoff_max_seconds: 60\n",
            3,
            "feed.backoff_max_seconds",
            "at least feed.backoff_base_seconds (600), got 60",
        ),
        ("feed:\n  backoff_base_seconds: 30000\n", 2, "feed.backoff_max_seconds", "got 21600"),
        ("feed:\n  user_agent: ''\n", 2, "feed.user_agent", "must not be empty"),
        ('feed:\n  user_agent: "a\\r\\nX-Evil: 1"\n', 2, "feed.user_agent", "single line"),
    ],
)
def test_out_of_range_values_are_reported(
    tmp_path: Path, text: str, line: int, key: str, expected: str
) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.startswith(f"config.yaml:{line}: {key}: "), problem
    assert expected in problem


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("feed.sources[0].url", "ftp://example.org/feed"),
        ("feed.sources[0].url", "file:///etc/passwd"),
        ("feed.sources[0].url", "javascript:alert(1)"),
        ("feed.sources[0].url", "https://"),
        ("feed.sources[0].url", "example.org/feed"),
        ("feed.sources[0].url", "https://user:pw@example.org/feed"),
        ("feed.sources[0].url", "http://example.org:99999/feed"),
        ("feed.sources[0].url", "https://example.org/a feed"),
        ("discord.api_base", "ws://127.0.0.1:8080/api/v10"),
        ("discord.gateway_url", "http://127.0.0.1:8080"),
    ],
)
def test_bad_urls_are_reported(tmp_path: Path, key: str, url: str) -> None:
    if key.startswith("feed"):
        text = f"feed:\n  sources:\n    - name: src\n      url: '{url}'\n"
    else:
        text = f"discord:\n  {key.split('.')[1]}: '{url}'\n"
    problem = only_problem(tmp_path, text)
    line = 4 if key.startswith("feed") else 2
    assert problem.startswith(f"config.yaml:{line}: {key}: "), problem


def test_shard_ids_require_shard_count(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "discord:\n  shard_ids: [0]\n")
    assert problem == "config.yaml:2: discord.shard_ids: requires discord.shard_count to be set"


def test_duplicate_source_names_and_urls_are_reported(tmp_path: Path) -> None:
    problems = problems_for(
        tmp_path,
        """\
feed:
  sources:
    - name: news
      url: https://a.example/feed
    - name: other
      url: https://a.example/feed
    - name: news
      url: https://b.example/feed
""",
    )
    assert problems == [
        "config.yaml:6: feed.sources[1].url: same url as feed.sources[0]",
        "config.yaml:7: feed.sources[2].name: same name as feed.sources[0]",
    ]


@pytest.mark.parametrize("name", ["News", "a_b", "a b", "x" * 33, ""])
def test_bad_source_names_are_reported(tmp_path: Path, name: str) -> None:
    problem = only_problem(
        tmp_path, f"feed:\n  sources:\n    - name: '{name}'\n      url: https://a.org\n"
    )
    assert problem.startswith("config.yaml:3: feed.sources[0].name: ")


def test_source_without_url_is_reported(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "feed:\n  sources:\n    - name: lonely\n")
    assert problem == "config.yaml:3: feed.sources[0].url: is required"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, "log_level: INFO\nfeed:\n  interval_seconds: [60\n  max_bytes: 1\n"
    )
    assert re.match(r"config\.yaml:4: YAML syntax error \(column \d+\): ", problem), problem


def test_several_documents_are_a_syntax_error(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "log_level: INFO\n---\nlog_level: DEBUG\n")
    assert problem.startswith("config.yaml:2: YAML syntax error")


@pytest.mark.parametrize(
    ("text", "got"), [("- a\n- b\n", "a list"), ("just text\n", "'just text'")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    problem = only_problem(tmp_path, text)
    assert problem == f"config.yaml:1: (top level): expected a mapping of settings, got {got}"


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("log_level:\n", 1, "log_level"),
        ("corpus_dir: ~\n", 1, "corpus_dir"),
        ("feed:\n  interval_seconds: null\n", 2, "feed.interval_seconds"),
        ("discord:\n  sync_on_start:\n", 2, "discord.sync_on_start"),
        ("feed:\n  sources:\n    - name:\n      url: https://a.org\n", 3, "feed.sources[0].name"),
        ("discord:\n  admin_user_ids: [null]\n", 2, "discord.admin_user_ids[0]"),
    ],
)
def test_null_where_a_value_is_required(tmp_path: Path, text: str, line: int, key: str) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.startswith(f"config.yaml:{line}: {key}: "), problem
    assert problem.endswith("got null")


@pytest.mark.parametrize("text", ["token: abc\n", "discord:\n  token: abc\n"])
def test_token_in_file_is_an_error_pointing_to_the_environment(tmp_path: Path, text: str) -> None:
    problem = only_problem(tmp_path, text)
    key = "token" if text.startswith("token") else "discord.token"
    line = text.count("\n")
    assert problem.startswith(f"config.yaml:{line}: {key}: ")
    assert "DISCORD_TOKEN" in problem
    assert "abc" not in problem


def test_python_tags_are_refused_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    text = f"log_level: !!python/object/apply:os.system ['touch {marker}']\n"
    problem = only_problem(tmp_path, text)
    assert problem.startswith("config.yaml:1: log_level: cannot read this value")
    assert not marker.exists()


def test_all_problems_are_reported_in_file_order(tmp_path: Path) -> None:
    text = """\
feed:
  interval_seconds: 5
  sources:
    - name: Bad
      url: ftp://x
discord:
  admin_user_ids: [1, bob]
  shard_ids: [0]
max_file_bytes: yes
log_levle: INFO
"""
    problems = problems_for(tmp_path, text, env={"DISCORD_GATEWAY_URL": "http://x"})
    lines = [p.split(":")[1] for p in problems[:-1]]
    assert lines == ["2", "4", "5", "7", "8", "9", "10"], problems
    assert problems[-1].startswith("environment DISCORD_GATEWAY_URL: ")


def test_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: LOUD\nmax_file_bytes: x\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, cwd=tmp_path)
    message = str(caught.value)
    assert message.startswith("2 problems in the configuration:\n")
    assert all(problem in message for problem in caught.value.problems)


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"log_level: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, env={}, cwd=tmp_path)


# ----------------------------------------------------------------------------------------------
# The environment and the token.


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_dir: from-file\ndiscord:\n  api_base: https://file.example/api\n"
        "  gateway_url: wss://file.example\n",
    )
    env = {
        "DISCORD_TOKEN": f"  {TOKEN}\n",
        "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8080",
        "CORPUS_BOT_DATA_DIR": "run/data",
    }
    config = load_config(path, env=env, cwd=tmp_path / "cwd")
    assert config.discord.token == TOKEN
    assert config.discord.api_base == "http://127.0.0.1:8080/api/v10"
    assert config.discord.gateway_url == "ws://127.0.0.1:8080"
    assert config.data_dir == (tmp_path / "cwd" / "run" / "data").resolve()


def test_empty_environment_values_count_as_unset(tmp_path: Path) -> None:
    path = write(tmp_path, "discord:\n  api_base: https://file.example/api\n")
    env = {"DISCORD_TOKEN": "", "DISCORD_API_BASE": "", "CORPUS_BOT_DATA_DIR": " "}
    config = load_config(path, env=env, cwd=tmp_path)
    assert config.discord.token is None
    assert config.discord.api_base == "https://file.example/api"
    assert config.data_dir == tmp_path.resolve() / "data"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_API_BASE", "ws://127.0.0.1:8080"),
        ("DISCORD_API_BASE", "127.0.0.1:8080/api"),
        ("DISCORD_GATEWAY_URL", "https://127.0.0.1:8080"),
    ],
)
def test_bad_environment_urls_are_reported(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={name: value}, cwd=tmp_path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"environment {name}: ")


def test_token_with_whitespace_is_reported_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"DISCORD_TOKEN": "secret part\nother"}, cwd=tmp_path)
    assert caught.value.problems[0].startswith("environment DISCORD_TOKEN: ")
    assert "secret" not in str(caught.value)


def test_token_never_shows_in_repr_or_str(tmp_path: Path) -> None:
    config = load_config(env={"DISCORD_TOKEN": TOKEN}, cwd=tmp_path)
    assert config.discord.token == TOKEN
    for text in (repr(config), str(config), repr(config.discord), str(config.discord)):
        assert TOKEN not in text
        assert "secret-token-value" not in text
        assert "token='<set>'" in text
    assert "token=None" in repr(DiscordConfig(token=None))


def test_configs_are_immutable(tmp_path: Path) -> None:
    config = load_config(env={}, cwd=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.log_level = "DEBUG"  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------
# config.example.yaml


def test_example_is_valid_and_equals_the_defaults(tmp_path: Path) -> None:
    copy = write(tmp_path, EXAMPLE.read_text(encoding="utf-8"), name="example.yaml")
    config = load_config(copy, env={}, cwd=tmp_path)
    defaults = load_config(env={}, cwd=tmp_path)
    assert config.config_path == copy.resolve()
    assert dataclasses.replace(config, config_path=None) == defaults


def test_example_mentions_every_setting_and_environment_variable() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    classes = (Config, DiscordConfig, FeedConfig, FeedSourceConfig)
    # config_path records which file was read and token comes from DISCORD_TOKEN: neither is a
    # file setting, so they are checked through their documentation instead.
    not_file_keys = {"config_path", "token", "database_url"}
    for cls in classes:
        for field in dataclasses.fields(cls):
            if field.name in not_file_keys:
                continue
            assert re.search(rf"^[ #-]*{field.name}:", text, re.MULTILINE), field.name
    assert re.search(r"\btoken\b", text)
    assert re.search(r"\bdatabase_url\b", text)
    for name in (
        "DISCORD_TOKEN",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        "CORPUS_BOT_DATA_DIR",
        "CORPUS_BOT_DATABASE_URL",
    ):
        assert name in text, name


def test_example_feed_source_is_commented_out_and_valid_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "https://medium.com/feed/partnership-on-ai" in text
    uncommented = re.sub(
        r"^  # (sources:|  - name:|    url:)",
        r"  \1",
        text.replace("  sources: []\n", ""),
        flags=re.MULTILINE,
    )
    config = load_config(write(tmp_path, uncommented), env={}, cwd=tmp_path)
    assert config.feed.sources == (
        FeedSourceConfig("partnership-on-ai", "https://medium.com/feed/partnership-on-ai"),
    )


# ----------------------------------------------------------------------------------------------
# Hostile files: one problem line each, bounded, never a traceback.

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (f"max_file_bytes: {HUGE}\n", 1, "max_file_bytes"),
        (f"discord:\n  shard_count: {HUGE}\n", 2, "discord.shard_count"),
        (f"discord:\n  dev_guild_id: {HUGE}\n", 2, "discord.dev_guild_id"),
        (f"discord:\n  cooldown_seconds: {HUGE}\n", 2, "discord.cooldown_seconds"),
        (f"discord:\n  admin_user_ids: [{HUGE}]\n", 2, "discord.admin_user_ids[0]"),
        (f"discord:\n  shard_count: 2\n  shard_ids: [{HUGE}]\n", 3, "discord.shard_ids[0]"),
        (f"feed:\n  interval_seconds: {HUGE}\n", 2, "feed.interval_seconds"),
        (f"feed:\n  max_announcements_per_cycle: {HUGE}\n", 2, "feed.max_announcements_per_cycle"),
        (f"feed:\n  timeout_seconds: {HUGE}\n", 2, "feed.timeout_seconds"),
        (f"feed:\n  max_bytes: {HUGE}\n", 2, "feed.max_bytes"),
        (f"feed:\n  backoff_base_seconds: {HUGE}\n", 2, "feed.backoff_base_seconds"),
        (f"feed:\n  backoff_max_seconds: {HUGE}\n", 2, "feed.backoff_max_seconds"),
        (f"feed:\n  pause_after_failures: {HUGE}\n", 2, "feed.pause_after_failures"),
        (f"max_file_bytes: 0x{'f' * 5000}\n", 1, "max_file_bytes"),  # built, but not printable
        (f"log_level: {HUGE}\n", 1, "log_level"),
        (f"feed:\n  user_agent: {HUGE}\n", 2, "feed.user_agent"),
    ],
)
def test_a_number_with_thousands_of_digits_is_one_short_problem_line(
    tmp_path: Path, text: str, line: int, key: str
) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.startswith(f"config.yaml:{line}: {key}: "), problem
    assert len(problem) < 200, problem


def test_a_huge_number_is_a_usage_error_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    path = write(tmp_path, f"log_level: INFO\nmax_file_bytes: {HUGE}\n")
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:2: max_file_bytes: cannot read this value: a number with too many digits" in err


@pytest.mark.parametrize("depth", [900, 5000])
def test_deep_nesting_is_one_problem_line(tmp_path: Path, depth: int) -> None:
    text = "log_level: INFO\ndiscord:\n  admin_user_ids: " + "[" * depth + "]" * depth + "\n"
    assert only_problem(tmp_path, text) == "config.yaml:3: nested more than 20 levels deep"


def test_aliases_are_not_expanded(tmp_path: Path) -> None:
    """A "billion laughs" file: every alias stays one shared node, so it costs what it weighs."""
    tracemalloc.start()
    try:
        problems = problems_for(tmp_path, billion_laughs() + "\ndiscord: *i\nfeed: {sources: *i}\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(problems) == 9 + 1 + 9  # the keys a..i, discord, the nine sources
    assert "config.yaml:9: discord: expected a mapping of settings, got a list" in problems
    assert "config.yaml:8: feed.sources[8]: expected a mapping of settings, got a list" in problems
    assert peak < 5_000_000


def test_a_config_file_that_is_not_a_regular_file_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    try:
        with pytest.raises(ConfigError) as caught:
            finishes(lambda: load_config(fifo, env={}, cwd=tmp_path))
    finally:
        release_fifo(fifo)
    assert caught.value.problems == [
        f"config file {fifo} is a FIFO (named pipe), not a regular file; only regular files are read"
    ]
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50_000_000)
    with pytest.raises(
        ConfigError, match=r"big.yaml: file is 50,000,000 bytes, over the 1,000,000-byte"
    ):
        load_config(big, env={}, cwd=tmp_path)


def test_a_feed_source_may_not_take_the_corpus_folders_name(tmp_path: Path) -> None:
    from bot.feeds.models import CORPUS_SOURCE

    problem = only_problem(
        tmp_path, f"feed:\n  sources:\n    - name: {CORPUS_SOURCE}\n      url: https://a.org/feed\n"
    )
    assert problem == (
        "config.yaml:3: feed.sources[0].name: 'corpus' is the corpus folder's own source name; "
        "choose another name"
    )


# ----------------------------------------------------------------------------------------------
# storage: sqlite | postgres, and the database URL from the environment only.

DATABASE_URL = "postgresql://corpus_bot:pg-secret-pw@db.example:5432/corpus_bot"


def test_storage_defaults_to_sqlite_and_ignores_the_database_variable(tmp_path: Path) -> None:
    config = load_config(env={"CORPUS_BOT_DATABASE_URL": "not even a url"}, cwd=tmp_path)
    assert config.storage == "sqlite"
    assert config.database_url is None
    assert config.db_path == tmp_path.resolve() / "data" / "corpus.db"


@pytest.mark.parametrize(
    "url",
    [
        DATABASE_URL,
        "postgres://corpus_bot@/corpus_bot?host=/var/run/postgresql",
        "postgresql:///corpus_bot",
        "postgresql://bot:pw@h1:5432,h2:5433/corpus_bot",
    ],
)
def test_postgres_takes_its_url_from_the_environment(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, "storage: postgres\n")
    config = load_config(path, env={"CORPUS_BOT_DATABASE_URL": f" {url} "}, cwd=tmp_path)
    assert config.storage == "postgres"
    assert config.database_url == url
    assert config.db_path == tmp_path.resolve() / "data" / "replica.db"  # the local replica


def test_the_database_url_never_shows_in_repr_or_str(tmp_path: Path) -> None:
    path = write(tmp_path, "storage: postgres\n")
    config = load_config(path, env={"CORPUS_BOT_DATABASE_URL": DATABASE_URL}, cwd=tmp_path)
    for text in (repr(config), str(config)):
        assert "pg-secret-pw" not in text
        assert "storage='postgres'" in text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "storage: postgress\n",
            "config.yaml:1: storage: expected sqlite or postgres, got "
            "'postgress' (did you mean 'postgres'?)",
        ),
        ("storage: 3\n", "config.yaml:1: storage: expected sqlite or postgres, got 3"),
        ("storage:\n", "config.yaml:1: storage: expected sqlite or postgres, got null"),
        (
            "log_level: INFO\nstorgae: postgres\n",
            "config.yaml:2: storgae: unknown key (did you mean 'storage'?)",
        ),
    ],
)
def test_a_bad_storage_is_one_line_with_its_place(tmp_path: Path, text: str, problem: str) -> None:
    assert problems_for(tmp_path, text) == [problem]


@pytest.mark.parametrize(
    "text", ["database_url: postgresql://u:pw@h/db\n", "discord:\n  database_url: x://pw\n"]
)
def test_a_database_url_in_the_file_is_refused_pointing_to_the_environment(
    tmp_path: Path, text: str
) -> None:
    problem = only_problem(tmp_path, text)
    key = "database_url" if text.startswith("database_url") else "discord.database_url"
    assert problem == (
        f"config.yaml:{text.count(chr(10))}: {key}: secrets are never read from a file; "
        "set the CORPUS_BOT_DATABASE_URL environment variable instead"
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "not set, and storage: postgres needs it"),
        ("   ", "not set, and storage: postgres needs it"),
        (
            "mysql://bot:pg-secret-pw@db/x",
            "expected a URL starting with postgresql:// or postgres://",
        ),
        ("db.example:5432/corpus", "expected a URL starting with postgresql:// or postgres://"),
        ("postgresql://bot:pg-secret-pw@db:port/x", "cannot read it as a URL"),
        ("postgresql://bot:pg-secret-pw@db:99999/x", "cannot read it as a URL"),
        ("postgresql://bot:pg-secret-pw@[db/x", "cannot read it as a URL"),
        ("postgresql://bot:pg secret@db/x", "the URL contains spaces or control characters"),
        (
            "postgresql://bot:pg-secret-pw@db/x\nother",
            "the URL contains spaces or control characters",
        ),
    ],
)
def test_a_missing_or_unusable_database_url_is_one_line_naming_the_variable(
    tmp_path: Path, value: str, why: str
) -> None:
    env = {"CORPUS_BOT_DATABASE_URL": value} if value else {}
    problems = problems_for(tmp_path, "storage: postgres\n", env=env)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"environment CORPUS_BOT_DATABASE_URL: {why}")
    assert "secret" not in problems[0]
    assert "\n" not in problems[0]


def test_cli_exits_2_with_one_line_when_postgres_has_no_url(
    cli: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through `corpus-bot` itself: the usage status, one line, no traceback, no password."""
    write(tmp_path, "storage: postgres\n")  # ./config.yaml: the cli fixture runs in tmp_path
    monkeypatch.delenv("CORPUS_BOT_DATABASE_URL", raising=False)
    code, out, err = cli("check")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "corpus-bot: environment CORPUS_BOT_DATABASE_URL: not set, and storage: postgres needs "
        "it (e.g. postgresql://user:password@host:5432/corpus_bot)"
    ]
    monkeypatch.setenv("CORPUS_BOT_DATABASE_URL", "postgresql://bot:pg-secret-pw@db:port/x")
    code, out, err = cli("run")
    assert code == 2 and len(err.splitlines()) == 1
    assert "CORPUS_BOT_DATABASE_URL" in err and "pg-secret-pw" not in err

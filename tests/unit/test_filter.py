"""TraceFilter: Flink's filter.includes / filter.excludes patterns (regex semantics)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanstream.producer import TraceFilter
from spanstream.schemas import ConfigError


def test_default_admits_everything():
    """Without configuration, every scope and name passes (include ``*:*:*``)."""
    assert TraceFilter.allow_all().matches("jobmanager.job", "Checkpoint")
    assert TraceFilter.parse().matches("", "x")


def test_scope_pattern_must_match_the_whole_logical_scope():
    """``*`` matches any run of characters, and the pattern must match all of the scope."""
    only_jobs = TraceFilter.parse(includes="*.job")
    assert only_jobs.matches("jobmanager.job", "x")
    assert not only_jobs.matches("jobmanager.job.task", "x")


def test_dot_matches_any_character():
    """As in Flink, a '.' in a pattern is the regex '.': any character."""
    f = TraceFilter.parse(includes="jobmanager.job")
    assert f.matches("jobmanagerXjob", "x")
    assert f.matches("jobmanager.job", "x")


def test_an_empty_scope_part_matches_only_the_empty_scope():
    """':Checkpoint' has an empty scope part: Flink's '()' matches only ""."""
    f = TraceFilter.parse(includes=":Checkpoint")
    assert f.matches("", "Checkpoint")
    assert not f.matches("jobmanager", "Checkpoint")


def test_an_empty_alternative_matches_the_empty_string():
    """'a,,b' is (a||b) in Flink: it admits a, b and ""."""
    f = TraceFilter.parse(includes="a,,b")
    assert f.matches("", "x")
    assert f.matches("b", "x")
    assert not f.matches("c", "x")


def test_name_part_lists_alternatives():
    """``<scope>:<name>,<name>`` admits any of the listed names."""
    f = TraceFilter.parse(includes="*:Checkpoint,JobFailure")
    assert f.matches("a", "Checkpoint")
    assert f.matches("a", "JobFailure")
    assert not f.matches("a", "JobInitialization")


def test_scope_part_lists_alternatives():
    """The scope part is a comma-separated list too."""
    f = TraceFilter.parse(includes="jobmanager,taskmanager.*")
    assert f.matches("jobmanager", "x")
    assert f.matches("taskmanager.job", "x")
    assert not f.matches("process", "x")


def test_excludes_win_over_includes():
    """A span matching an exclude is filtered out even if an include matches it."""
    f = TraceFilter.parse(includes="*", excludes="*.job:Checkpoint")
    assert not f.matches("jobmanager.job", "Checkpoint")
    assert f.matches("jobmanager.job", "JobFailure")
    assert f.matches("jobmanager", "Checkpoint")


def test_no_include_means_nothing_passes():
    """With an empty include list no span passes (Flink: no matching include, filtered)."""
    assert not TraceFilter.parse(includes="").matches("a", "b")


def test_list_separated_by_semicolons_or_given_as_a_list():
    """A pattern list is ';'-separated text (Flink's flat form) or a YAML list."""
    for includes in ("*.job:Checkpoint;process:*", ["*.job:Checkpoint", "process:*"]):
        f = TraceFilter.parse(includes=includes)
        assert f.matches("jm.job", "Checkpoint")
        assert f.matches("process", "Anything")
        assert not f.matches("jm.job", "Other")


@pytest.mark.parametrize("types", ["*", "counter", "gauge,meter,histogram"])
def test_metric_type_part_is_accepted_and_ignored(types):
    """The third (metric-type) part of a Flink pattern is accepted and does not filter spans."""
    assert TraceFilter.parse(includes=f"*:*:{types}").matches("a", "b")


@pytest.mark.parametrize("pattern", ["a:b:c:d", "a:*:span", "a(", "*:[x", 42, ["ok", 3]])
def test_malformed_pattern_raises_config_error_naming_key_value_and_format(pattern):
    """A malformed pattern (or a broken regex) raises ConfigError naming key, value, format."""
    with pytest.raises(ConfigError) as excinfo:
        TraceFilter.parse(includes=pattern, includes_key="traces.reporter.x.filter.includes")
    message = str(excinfo.value)
    assert excinfo.value.key == "traces.reporter.x.filter.includes"
    assert excinfo.value.value == pattern
    assert "<scope>[:<name>" in message


def test_regex_characters_keep_their_meaning():
    """'+ ? ( ) [ ] | ^ $ \\' are regular-expression syntax, as in Flink."""
    f = TraceFilter.parse(includes="a+b(c|d)[0-9]:x?y")
    assert f.matches("aaabd7", "y")
    assert f.matches("abc0", "xy")
    assert not f.matches("a+b(c)", "x?y")
    assert TraceFilter.parse(includes="^job\\.x$").matches("job.x", "n")


LITERALS = st.text(alphabet=st.characters(whitelist_categories=("L", "Nd")), min_size=1)
# Java's and Python's '.' match no line terminator: the wildcard property holds for one line.
LINES = st.text(alphabet=st.characters(blacklist_categories=("Zl", "Zp", "Cc")))


@given(LITERALS, LITERALS, LINES, LINES)
def test_literal_patterns_match_exactly_themselves(scope, name, other_scope, other_name):
    """A pattern of letters and digits admits its own scope and name and nothing else."""
    f = TraceFilter.parse(includes=f"{scope}:{name}")
    assert f.matches(scope, name)
    assert f.matches(other_scope, other_name) == (other_scope == scope and other_name == name)


@given(LINES, LINES)
def test_wildcards_admit_everything_unless_excluded(scope, name):
    """``*:*`` admits any scope and name; the same pattern as an exclude removes them all."""
    assert TraceFilter.parse(includes="*:*").matches(scope, name)
    assert not TraceFilter.parse(includes="*:*", excludes="*").matches(scope, name)

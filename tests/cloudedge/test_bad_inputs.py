"""Property-based bad inputs: trace CSVs, scenario YAML files and env actions.

Whatever is thrown at them, the simulator either accepts the input or raises one named error
(a one-line message naming the file and the field) before any work, and nothing is written or
changed: the input file, the folder around it and the env's state stay as they were.
"""

from __future__ import annotations

import copy
import math
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudedge.config import SCENARIO_DIR, ConfigError, load_scenario_yaml, paper_scenario
from cloudedge.env import CloudEdgeEnv
from cloudedge.trace import TRACE_COLUMNS, TraceFormatError
from cloudedge.workload import load_workload

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PAPER = yaml.safe_load((SCENARIO_DIR / "paper.yaml").read_text(encoding="utf-8"))


@contextmanager
def folder_with(name: str, content: bytes) -> Iterator[Path]:
    """A fresh folder holding only ``name``; on exit, assert nothing was written or changed."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        yield path
        assert [p.name for p in Path(folder).iterdir()] == [name]
        assert path.read_bytes() == content


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message


# -- trace CSVs ---------------------------------------------------------------------------

ROW = "2023-11-16 18:17:0{}.0000000,{},{}"
GOOD_ROWS = [ROW.format(i, 100 + i, 10 + i) for i in range(5)]
junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["-1", "1.5", "nan", "", "1e3", " 7 ", "2023-13-01 00:00:00", "\x00"]),
    st.integers(-10, 10**6).map(str),
)


@st.composite
def bad_traces(draw: st.DrawFn) -> bytes:
    """A valid trace, then one fault: a field replaced, a field added or removed, a row of
    junk, a broken header or undecodable bytes."""
    rows = [row.split(",") for row in GOOD_ROWS]
    fault = draw(st.sampled_from(["field", "extra", "missing", "junk_row", "header", "bytes"]))
    header = ",".join(TRACE_COLUMNS)
    i = draw(st.integers(0, len(rows) - 1))
    if fault == "field":
        rows[i][draw(st.integers(0, 2))] = draw(junk)
    elif fault == "extra":
        rows[i].append(draw(junk))
    elif fault == "missing":
        rows[i].pop(draw(st.integers(0, 2)))
    elif fault == "junk_row":
        rows.insert(i, [draw(st.text(min_size=1, max_size=30).filter(lambda t: "\n" not in t))])
    elif fault == "header":
        header = draw(st.sampled_from(["", "time,prompt,completion", "TIMESTAMP,ContextTokens"]))
    text = "\n".join([header, *(",".join(row) for row in rows)]) + "\n"
    data = text.encode("utf-8")
    if fault == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\x80\x80"])) + data[at:]
    return data


@SETTINGS
@given(content=bad_traces())
def test_a_bad_trace_is_a_named_error_and_writes_nothing(content: bytes) -> None:
    with folder_with("trace.csv", content) as path:
        scenario = paper_scenario(
            n_tasks=1, workload={"source": "azure_trace", "trace_path": str(path)}
        )
        try:
            load_workload(scenario)
        except TraceFormatError as err:
            message = str(err)
            assert_one_line(message)
            assert re.match(r"trace\.csv line \d+, column \w+: \S", message), message
            assert err.column in TRACE_COLUMNS or err.column.isdigit()  # an extra field: its number


# -- scenario YAML ------------------------------------------------------------------------


def field_paths(value: Any, prefix: str = "") -> list[str]:
    """Every leaf of a scenario dict as a dotted path (``servers[1].kind``)."""
    if isinstance(value, dict):
        out = [] if not prefix else [prefix]
        for key, sub in value.items():
            out += field_paths(sub, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = [prefix]
        for i, sub in enumerate(value):
            out += field_paths(sub, f"{prefix}[{i}]")
        return out
    return [prefix]


PATHS = [p for p in field_paths(PAPER) if p]


def split_path(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def leaf_name(path: str) -> str:
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path)[-1]


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.floats(-1e4, 1e4), max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=4), st.integers(), max_size=2),
)


@st.composite
def bad_scenarios(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(kind of fault, the field path it touches, the mutated scenario)."""
    data = copy.deepcopy(PAPER)
    path = draw(st.sampled_from(PATHS))
    *parents, last = split_path(path)
    target: Any = data
    for key in parents:
        target = target[key]
    fault = draw(st.sampled_from(["value", "delete", "unknown"]))
    if parents == ["compute_profiles"]:  # profile names are the user's, not fields
        fault = "value"
    if fault == "value":
        target[last] = draw(values)
    elif fault == "delete" and isinstance(last, str):
        del target[last]
    elif isinstance(target, dict):
        target[draw(st.from_regex(r"[a-z]{3,8}_x", fullmatch=True))] = draw(values)
    else:
        fault = "value"
        target[last] = draw(values)
    return fault, path, data


@SETTINGS
@given(case=bad_scenarios())
def test_a_bad_scenario_file_is_a_named_error_and_writes_nothing(
    case: tuple[str, str, Any],
) -> None:
    fault, path, data = case
    content = yaml.safe_dump(data).encode("utf-8")
    with folder_with("scenario.yaml", content) as file:
        try:
            load_scenario_yaml(file)
        except ConfigError as err:
            message = str(err)
            assert_one_line(message)
            assert message.startswith(f"{file}: "), message
            if fault == "delete":
                assert f"missing scenario field {path}" in message
            elif fault == "unknown":
                assert "unknown scenario field" in message
            else:
                # Names the field changed, or (for a cross-field rule) the fields it involves.
                names = {leaf_name(path), path.split(".")[0].split("[")[0]}
                assert any(name in message for name in names) or re.search(
                    r"position_m|resource_share|uav_height_range_m|compute_profile", message
                ), (path, message)


@SETTINGS
@given(text=st.text(max_size=60))
def test_any_text_as_a_scenario_file_is_accepted_or_named(text: str) -> None:
    with folder_with("scenario.yaml", text.encode("utf-8")) as file:
        try:
            load_scenario_yaml(file)
        except ConfigError as err:
            assert_one_line(str(err))
            assert str(err).startswith(f"{file}: ")


# -- env actions --------------------------------------------------------------------------

server_values = st.one_of(
    st.integers(-3, 8),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=3),
    st.booleans(),
    st.integers(0, 4).map(np.int64),
    st.integers(0, 4).map(lambda i: np.array([i])),
)
share_values = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=5),
    st.lists(st.floats(0.0, 1.0, width=32), min_size=3, max_size=3),
    st.text(max_size=3),
    st.none(),
)


@st.composite
def actions(draw: st.DrawFn) -> Any:
    action: dict[Any, Any] = {}
    if draw(st.booleans()):
        action["server"] = draw(server_values)
    if draw(st.booleans()):
        action["share"] = draw(share_values)
    if draw(st.integers(0, 3)) == 0:
        action[draw(st.sampled_from(["priority", "Server", "shares", 0]))] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, [0, [0.1, 0.1, 0.1]], "server", 3]))
    return action


def is_valid(action: Any, n_servers: int) -> bool:
    if not isinstance(action, dict) or set(action) != {"server", "share"}:
        return False
    server = action["server"]
    if isinstance(server, np.ndarray) and server.size == 1:
        server = server.reshape(()).item()
    if isinstance(server, bool) or not isinstance(server, int | np.integer):
        return False
    share = action["share"]
    if not isinstance(share, list) or len(share) != 3:
        return False
    return 0 <= server < n_servers and all(0.0 <= float(x) <= 1.0 for x in share)


@pytest.fixture(scope="module")
def env() -> CloudEdgeEnv:
    return CloudEdgeEnv(n_tasks=1000)


@SETTINGS
@given(action=actions())
def test_a_bad_action_is_a_named_error_and_changes_nothing(env: CloudEdgeEnv, action: Any) -> None:
    obs, _ = env.reset(seed=0)
    assert env.simulator is not None
    table = env.simulator.server_table.copy()
    if is_valid(action, env.n_servers):
        env.step(action)
        assert env.simulator.next_task == 1
        return
    with pytest.raises(ValueError) as caught:
        env.step(action)
    message = str(caught.value)
    assert_one_line(message)
    assert re.search(r"action\['server'\]|action\['share'\]|action must be a mapping", message)
    assert env.simulator.next_task == 0
    np.testing.assert_array_equal(env.simulator.server_table, table)
    np.testing.assert_array_equal(env._observation(), obs)
    assert not math.isnan(float(obs.sum()))

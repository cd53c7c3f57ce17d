"""The observation layout: the env encodes through it, and its docstring table matches it."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from cloudedge.env import CloudEdgeEnv
from cloudedge.observation import SERVER_BLOCKS, TASK_FIELDS, ObservationLayout

ROW = re.compile(r"^\s*\|\s*(?P<index>[0-9N .+-]+?)\s*\|\s*(?P<name>\w+)\s*\|")


def docstring_rows() -> list[tuple[str, str]]:
    doc = CloudEdgeEnv.__doc__ or ""
    table = doc.split("## Observation space", 1)[1].split("##", 1)[0]
    return [
        (m["index"], m["name"])
        for line in table.splitlines()
        if (m := ROW.match(line)) and m["name"] != "name"
    ]


def evaluate(expression: str, n: int) -> int:
    """``6N + 2`` -> 6 * n + 2, ``2N-1`` -> 2 * n - 1 (the table's index arithmetic)."""
    total = 0
    for term in re.findall(r"[+-]?[^+-]+", expression.replace(" ", "")):
        sign = -1 if term.startswith("-") else 1
        term = term.lstrip("+-")
        total += sign * (int(term[:-1] or 1) * n if term.endswith("N") else int(term))
    return total


@pytest.mark.parametrize("n_servers", [1, 5, 17])
def test_the_env_docstring_table_is_the_layout(n_servers: int) -> None:
    layout = ObservationLayout(n_servers)
    rows = docstring_rows()
    assert [name for _, name in rows] == [*SERVER_BLOCKS, *TASK_FIELDS]
    for index, name in rows:
        if name in SERVER_BLOCKS:
            first, last = (evaluate(part, n_servers) for part in index.split(".."))
            block = layout.block_slice(name)
            assert (first, last + 1) == (block.start, block.stop), name
        else:
            assert evaluate(index, n_servers) == layout.task_index(name), name
    size = re.search(r"Box\(0, 1, \((\d+)N \+ (\d+),\)", CloudEdgeEnv.__doc__ or "")
    assert size is not None
    assert int(size[1]) * n_servers + int(size[2]) == layout.size


def test_the_env_observation_decodes_by_name() -> None:
    env = CloudEdgeEnv(n_tasks=4, t_max_s=12.0)
    obs, info = env.reset(seed=1)
    layout = env.layout
    assert obs.shape == (layout.size,) == env.observation_space.shape
    # At the start every server is free (Starting State of the env's docstring).
    np.testing.assert_array_equal(layout.remaining(obs), np.ones((env.n_servers, 3)))
    np.testing.assert_array_equal(layout.wait_s(obs), np.zeros(env.n_servers))
    assert layout.t_max_s(obs) == pytest.approx(12.0, rel=1e-6)
    assert float(layout.task(obs, "tasks_left")) == 1.0
    sim = env.simulator
    assert sim is not None
    caps = [s.capacity.memory_bytes for s in sim.servers]
    expected_need = [min(1.0, info["memory_need_bytes"] / cap) for cap in caps]
    np.testing.assert_allclose(layout.block(obs, "memory_need"), expected_need, rtol=1e-6)
    prompt = sim.tasks.prompt_tokens[0] / 2048
    assert math.isclose(float(layout.task(obs, "prompt")), prompt, rel_tol=1e-6)
    assert layout.server_features(obs).shape == (env.n_servers, len(SERVER_BLOCKS))
    assert layout.task_features(obs).shape == (len(TASK_FIELDS),)

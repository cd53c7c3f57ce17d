"""Tasks: what each request carries (sizes, tokens, memory need) and when it arrives.

Prompt and completion sizes come from the 164 real OpenAI HumanEval problems shipped in
``cloudedge/data/humaneval`` (MIT licence, see SOURCE.md there).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from cloudedge.config import ResourceConfig, ScenarioConfig, WorkloadConfig

HUMANEVAL_PATH = Path(__file__).parent / "data" / "humaneval" / "HumanEval.jsonl.gz"

# GPT-J-6B architecture (PAPER.md section 2; EleutherAI's model card).
GPTJ_N_LAYER = 28
GPTJ_D_MODEL = 4096
GPTJ_MAX_POSITIONS = 2048
BYTES_PER_MIB = 1024 * 1024


def kv_cache_bytes_per_token(bytes_per_value: int = 2) -> int:
    """KV-cache bytes one token occupies in GPT-J-6B: K and V, each d_model wide, per layer.

    ``2 * n_layer * d_model * bytes_per_value`` = 458,752 bytes (0.4375 MiB) in fp16.
    """
    return 2 * GPTJ_N_LAYER * GPTJ_D_MODEL * bytes_per_value


@dataclass(frozen=True)
class PromptPool:
    """Sizes of the HumanEval problems, in UTF-8 bytes.

    :param prompt_bytes: PS_x of each problem (its prompt).
    :param completion_bytes: PS_y of each problem (its canonical solution).
    """

    prompt_bytes: np.ndarray
    completion_bytes: np.ndarray

    def __len__(self) -> int:
        return len(self.prompt_bytes)


@cache
def humaneval_pool() -> PromptPool:
    """Load the real HumanEval prompt and canonical-solution sizes (cached)."""
    prompts: list[int] = []
    completions: list[int] = []
    with gzip.open(HUMANEVAL_PATH, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                prompts.append(len(record["prompt"].encode("utf-8")))
                completions.append(len(record["canonical_solution"].encode("utf-8")))
    return PromptPool(np.asarray(prompts, dtype=np.int64), np.asarray(completions, dtype=np.int64))


def tokens_from_bytes(n_bytes: np.ndarray | int, bytes_per_token: float) -> np.ndarray:
    """Token count of ``n_bytes`` of text (rounded up, at least one token)."""
    return np.maximum(1, np.ceil(np.asarray(n_bytes) / bytes_per_token)).astype(np.int64)


def memory_need_bytes(
    prompt_tokens: np.ndarray | int, workload: WorkloadConfig, resources: ResourceConfig
) -> np.ndarray:
    """GPU memory a task needs: KV cache of prompt + reserved completion, plus a workspace."""
    tokens = np.asarray(prompt_tokens) + workload.reserved_completion_tokens
    per_token = kv_cache_bytes_per_token(resources.kv_cache_bytes_per_value)
    return tokens * per_token + resources.workspace_mib * BYTES_PER_MIB


@dataclass(frozen=True)
class TotalResources:
    """The environment's total resources, before they are split among servers."""

    compute_units: float
    bandwidth_hz: float
    memory_bytes: float


def total_resources(scenario: ScenarioConfig) -> TotalResources:
    """Size the environment so that ``reference_tasks`` tasks are a 100% load (paper Sec. V)."""
    res, wl = scenario.resources, scenario.workload
    pool = humaneval_pool()
    needs = memory_need_bytes(tokens_from_bytes(pool.prompt_bytes, wl.bytes_per_token), wl, res)
    n = res.reference_tasks
    largest_total = n * float(needs.mean()) + res.memory_demand_quantile_z * float(
        needs.std()
    ) * math.sqrt(n)
    return TotalResources(
        compute_units=n * res.nominal_compute_units,
        bandwidth_hz=n * res.nominal_bandwidth_hz,
        memory_bytes=largest_total,
    )


@dataclass(frozen=True)
class TaskBatch:
    """All tasks of one episode, in arrival order (arrays of length n_tasks)."""

    arrival_s: np.ndarray
    terminal_id: np.ndarray
    prompt_bytes: np.ndarray
    completion_bytes: np.ndarray
    prompt_tokens: np.ndarray
    completion_tokens: np.ndarray
    memory_need_bytes: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def generate_tasks(
    scenario: ScenarioConfig, n_terminals: int, rng: np.random.Generator
) -> TaskBatch:
    """Draw one episode's tasks: arrival times, requesting terminals and HumanEval problems."""
    wl = scenario.workload
    n = scenario.n_tasks
    if wl.arrival == "burst":
        arrival = np.sort(rng.uniform(0.0, wl.burst_window_s, size=n))
    else:
        arrival = np.cumsum(rng.exponential(1.0 / wl.poisson_rate_hz, size=n))
    terminal = rng.integers(0, n_terminals, size=n)
    pool = humaneval_pool()
    problem = rng.integers(0, len(pool), size=n)
    prompt_bytes = pool.prompt_bytes[problem]
    completion_bytes = pool.completion_bytes[problem]
    prompt_tokens = tokens_from_bytes(prompt_bytes, wl.bytes_per_token)
    return TaskBatch(
        arrival_s=arrival,
        terminal_id=terminal,
        prompt_bytes=prompt_bytes,
        completion_bytes=completion_bytes,
        prompt_tokens=prompt_tokens,
        completion_tokens=tokens_from_bytes(completion_bytes, wl.bytes_per_token),
        memory_need_bytes=memory_need_bytes(prompt_tokens, wl, scenario.resources).astype(
            np.float64
        ),
    )

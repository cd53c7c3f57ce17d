"""Tasks: what each request carries (sizes, tokens, memory need) and when it arrives.

Three sources (``workload.source``, see :class:`~cloudedge.config.WorkloadConfig`):

* ``humaneval``: prompt and completion sizes of the 164 real OpenAI HumanEval problems shipped
  in ``cloudedge/data/humaneval`` (MIT licence, see SOURCE.md there);
* ``synthetic``: fixed token counts;
* ``azure_trace``: consecutive requests of an Azure LLM inference trace (the 2023 coding trace
  is shipped in ``cloudedge/data/azure_llm_2023``, CC BY 4.0), arriving at its timestamps.

A :class:`Workload` is built once per environment (:func:`load_workload`; trace files are
parsed once per process and file version) and draws each episode's :class:`TaskBatch` up
front, as arrays, so that the simulator's steps read plain numbers.
"""

from __future__ import annotations

import gzip
import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from cloudedge.config import ConfigError, ResourceConfig, ScenarioConfig, WorkloadConfig
from cloudedge.trace import (
    LLMTrace,
    TraceFormatError,
    default_azure_code_trace_path,
    tokens_to_bytes,
)

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


def max_prompt_tokens(workload: WorkloadConfig) -> int:
    """The longest prompt GPT-J serves: its context minus the reserved completion tokens."""
    return GPTJ_MAX_POSITIONS - workload.reserved_completion_tokens


def fit_to_context(prompt_tokens: np.ndarray, workload: WorkloadConfig) -> np.ndarray:
    """Prompt lengths truncated to :func:`max_prompt_tokens` (the server keeps the last ones).

    GPT-J-6B cannot attend beyond its 2,048-token context, so a longer prompt is truncated
    rather than extrapolated; the terminal still uploads the whole prompt. Each episode counts
    its truncated prompts (``TaskBatch.n_truncated_prompts``).
    """
    return np.minimum(np.asarray(prompt_tokens, dtype=np.int64), max_prompt_tokens(workload))


@dataclass(frozen=True)
class TotalResources:
    """The environment's total resources, before they are split among servers."""

    compute_units: float
    bandwidth_hz: float
    memory_bytes: float


def total_resources(scenario: ScenarioConfig, workload: Workload | None = None) -> TotalResources:
    """Size the environment so that ``reference_tasks`` tasks are a 100% load (paper Sec. V).

    Memory is the upper quantile of the summed needs of ``reference_tasks`` tasks whose prompts
    follow the selected workload's prompt-length distribution (for a trace: all its requests).

    :param scenario: the scenario.
    :param workload: the scenario's workload, if already loaded (default: loaded here).
    """
    res, wl = scenario.resources, scenario.workload
    if workload is None:
        workload = load_workload(scenario)
    needs = memory_need_bytes(fit_to_context(workload.sizing_prompt_tokens(), wl), wl, res)
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
    """All tasks of one episode, in arrival order (arrays of length n_tasks).

    ``trace_start_index`` is, for a trace workload, the index in the (whole) trace of the
    episode's first request; ``None`` for the other sources. ``prompt_tokens`` are those GPT-J
    serves (:func:`fit_to_context`); ``n_truncated_prompts`` counts the tasks whose prompt was
    longer and truncated.
    """

    arrival_s: np.ndarray
    terminal_id: np.ndarray
    prompt_bytes: np.ndarray
    completion_bytes: np.ndarray
    prompt_tokens: np.ndarray
    completion_tokens: np.ndarray
    memory_need_bytes: np.ndarray
    trace_start_index: int | None = None
    n_truncated_prompts: int = 0

    def __len__(self) -> int:
        return len(self.arrival_s)


def _arrivals_s(wl: WorkloadConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Arrival times of the ``burst`` or ``poisson`` process."""
    if wl.arrival == "burst":
        return np.sort(rng.uniform(0.0, wl.burst_window_s, size=n))
    return np.cumsum(rng.exponential(1.0 / wl.poisson_rate_hz, size=n))


def _batch(
    scenario: ScenarioConfig,
    arrival_s: np.ndarray,
    terminal_id: np.ndarray,
    prompt_bytes: np.ndarray,
    completion_bytes: np.ndarray,
    prompt_tokens: np.ndarray,
    completion_tokens: np.ndarray,
    trace_start_index: int | None = None,
) -> TaskBatch:
    served = fit_to_context(prompt_tokens, scenario.workload)
    memory = memory_need_bytes(served, scenario.workload, scenario.resources)
    return TaskBatch(
        arrival_s=arrival_s,
        terminal_id=terminal_id,
        prompt_bytes=prompt_bytes,
        completion_bytes=completion_bytes,
        prompt_tokens=served,
        completion_tokens=completion_tokens,
        memory_need_bytes=memory.astype(np.float64),
        trace_start_index=trace_start_index,
        n_truncated_prompts=int(np.count_nonzero(served < prompt_tokens)),
    )


class Workload(ABC):
    """A source of tasks, built once per environment by :func:`load_workload`.

    :param config: the scenario's workload configuration.
    """

    def __init__(self, config: WorkloadConfig) -> None:
        self.config = config

    @abstractmethod
    def sizing_prompt_tokens(self) -> np.ndarray:
        """Prompt lengths (tokens) whose distribution sizes the environment's GPU memory."""

    @abstractmethod
    def draw(
        self, scenario: ScenarioConfig, n_terminals: int, rng: np.random.Generator
    ) -> TaskBatch:
        """One episode's tasks: arrivals, requesting terminals (uniform) and sizes.

        :param scenario: the scenario (``n_tasks``, memory model).
        :param n_terminals: terminals to draw the requesters from.
        :param rng: the episode's random generator.
        """


class HumanEvalWorkload(Workload):
    """Each task is a uniformly drawn HumanEval problem (the paper scenario's workload)."""

    def sizing_prompt_tokens(self) -> np.ndarray:
        return tokens_from_bytes(humaneval_pool().prompt_bytes, self.config.bytes_per_token)

    def draw(
        self, scenario: ScenarioConfig, n_terminals: int, rng: np.random.Generator
    ) -> TaskBatch:
        wl = self.config
        n = scenario.n_tasks
        # Draw order (arrivals, terminals, problems) is part of every seeded paper result.
        arrival = _arrivals_s(wl, n, rng)
        terminal = rng.integers(0, n_terminals, size=n)
        pool = humaneval_pool()
        problem = rng.integers(0, len(pool), size=n)
        prompt_bytes = pool.prompt_bytes[problem]
        completion_bytes = pool.completion_bytes[problem]
        return _batch(
            scenario,
            arrival,
            terminal,
            prompt_bytes,
            completion_bytes,
            tokens_from_bytes(prompt_bytes, wl.bytes_per_token),
            tokens_from_bytes(completion_bytes, wl.bytes_per_token),
        )


class SyntheticWorkload(Workload):
    """Every task has the configured prompt and completion token counts."""

    def sizing_prompt_tokens(self) -> np.ndarray:
        return np.array([self.config.synthetic_prompt_tokens], dtype=np.int64)

    def draw(
        self, scenario: ScenarioConfig, n_terminals: int, rng: np.random.Generator
    ) -> TaskBatch:
        wl = self.config
        n = scenario.n_tasks
        arrival = _arrivals_s(wl, n, rng)
        terminal = rng.integers(0, n_terminals, size=n)
        prompt = np.full(n, wl.synthetic_prompt_tokens, dtype=np.int64)
        completion = np.full(n, wl.synthetic_completion_tokens, dtype=np.int64)
        return _batch(
            scenario,
            arrival,
            terminal,
            tokens_to_bytes(prompt, wl.bytes_per_token),
            tokens_to_bytes(completion, wl.bytes_per_token),
            prompt,
            completion,
        )


class TraceWorkload(Workload):
    """Episodes are slices of ``n_tasks`` consecutive requests of a trace.

    :param config: the workload configuration (``trace_path``, ``trace_rate_hz``).
    :param trace: the whole trace, already time-scaled to ``trace_rate_hz`` if that is set.
    """

    def __init__(self, config: WorkloadConfig, trace: LLMTrace) -> None:
        super().__init__(config)
        self.trace = trace

    def sizing_prompt_tokens(self) -> np.ndarray:
        return self.trace.prompt_tokens

    def check_n_tasks(self, n_tasks: int) -> None:
        """Raise :class:`ConfigError` if an episode of ``n_tasks`` does not fit the trace."""
        if n_tasks > len(self.trace):
            raise ConfigError(
                f"n_tasks = {n_tasks} is out of range for the trace {self.trace.source}: "
                f"allowed [1, {len(self.trace)}] (its number of requests)"
            )

    def draw(
        self, scenario: ScenarioConfig, n_terminals: int, rng: np.random.Generator
    ) -> TaskBatch:
        wl = self.config
        n = scenario.n_tasks
        self.check_n_tasks(n)
        start = int(rng.integers(0, len(self.trace) - n + 1))
        episode = self.trace.slice_by_count(start, n)
        terminal = rng.integers(0, n_terminals, size=n)
        prompt = np.asarray(episode.prompt_tokens)
        completion = np.asarray(episode.completion_tokens)
        return _batch(
            scenario,
            np.array(episode.arrival_s),
            terminal,
            tokens_to_bytes(prompt, wl.bytes_per_token),
            tokens_to_bytes(completion, wl.bytes_per_token),
            prompt,
            completion,
            trace_start_index=start,
        )


@lru_cache(maxsize=8)
def _read_trace(path: str, mtime_ns: int, size_bytes: int) -> LLMTrace:
    """Parse a trace file; the key holds its version so that an edited file is re-read."""
    return LLMTrace.from_csv(path)


@lru_cache(maxsize=16)
def _scaled_trace(path: str, mtime_ns: int, size_bytes: int, rate_hz: float) -> LLMTrace:
    return _read_trace(path, mtime_ns, size_bytes).scaled_to_rate(rate_hz)


def load_trace(path: str | Path | None, rate_hz: float | None = None) -> LLMTrace:
    """The trace at ``path`` (``None``: the shipped Azure code trace), parsed once per file
    version and time-scaled to the mean rate ``rate_hz`` when given.

    :raises TraceFormatError: on a malformed file (naming its file, line and column).
    :raises ConfigError: when the trace's rate is undefined (fewer than 2 requests, or all at
        one instant) but ``rate_hz`` asks to scale it.
    """
    resolved = Path(default_azure_code_trace_path() if path is None else path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if rate_hz is None:
        return _read_trace(*key)
    try:
        return _scaled_trace(*key, float(rate_hz))
    except TraceFormatError:
        raise
    except ValueError as err:  # the trace has no mean rate to scale
        raise ConfigError(f"workload.trace_rate_hz = {rate_hz!r}: {err}") from None


def load_workload(scenario: ScenarioConfig) -> Workload:
    """Build the scenario's workload; a trace is read (or taken from the cache) here, so a
    missing or malformed file fails now, before any episode.

    :raises TraceFormatError: on a malformed trace file.
    :raises FileNotFoundError: when the trace file does not exist.
    :raises ConfigError: when ``n_tasks`` exceeds the trace's length.
    """
    wl = scenario.workload
    if wl.source == "humaneval":
        return HumanEvalWorkload(wl)
    if wl.source == "synthetic":
        return SyntheticWorkload(wl)
    workload = TraceWorkload(wl, load_trace(wl.trace_path, wl.trace_rate_hz))
    workload.check_n_tasks(scenario.n_tasks)
    return workload

"""Typed, frozen scenario configuration: field types, meanings and validation.

The values of every named scenario live only in its YAML file in ``cloudedge/scenarios/env/``
(:data:`SCENARIO_DIR`), each with a comment saying why it was chosen; the dataclasses here hold
no scenario values, and every field is required, so a file that leaves one out is an error
rather than a silent default. ``gym.make("cloudedge/LLMOffload-v1", scenario=NAME)``,
:func:`load_scenario` and Hydra's ``env=NAME`` read the same files.

A bad value raises :class:`ConfigError` naming the field (and the file, when read from one)
and what is allowed, before any simulation work starts.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

TerminalKind = Literal["fixed", "mobile", "uav"]
ServerKind = Literal["cloud", "edge"]
ArrivalProcess = Literal["burst", "poisson"]
WorkloadSource = Literal["humaneval", "synthetic", "azure_trace"]
WORKLOAD_SOURCES: tuple[str, ...] = ("humaneval", "synthetic", "azure_trace")

#: Height (m) that separates "ground" from "air" nodes (PAPER.md section 3).
GROUND_AIR_BOUNDARY_M = 100.0


class ConfigError(ValueError):
    """A scenario value is missing, of the wrong type or out of its allowed range."""


def _check_range(
    path: str,
    value: float,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number in the interval."""
    lo = "(" if low_open else "["
    hi = ")" if high_open or math.isinf(high) else "]"
    allowed = f"allowed {lo}{low}, {high}{hi}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{path} = {value!r} is not a number: {allowed}")
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    if not ok or not (value < high if high_open else value <= high):
        raise ConfigError(f"{path} = {value!r} is out of range: {allowed}")


@dataclass(frozen=True)
class ChannelConfig:
    """Wireless channel (PAPER.md section 4). All values are **open** in the paper.

    :param carrier_ghz: carrier frequency; enters the ground-to-air constant only.
    :param uplink_power_dbm: terminal transmit power.
    :param downlink_power_dbm: server transmit power.
    :param noise_psd_dbm_per_hz: thermal noise power spectral density.
    :param noise_figure_db: receiver noise figure.
    :param antenna_gain_db: the constant antenna gain g of ``G = g - PL - X_sigma``.
    :param shadowing_sigma_db: std of the shadow fading X_sigma. The paper treats X_sigma as
        non-negative; we draw ``|N(0, sigma^2)|`` per transmission.
    :param g2a_alpha: path-loss exponent of ground-to-air links
        (``PL = C + 10 alpha log10(d_m)``).
    :param g2a_constant_db: the constant C of ``PL_G2A``; ``None`` derives it from 3GPP
        TR 36.777 (UMa-AV, LoS) as ``28 + 20 log10(carrier_ghz)``.
    :param a2a_alpha: path-loss exponent of air-to-air links.
    :param min_distance_m: distances below this are clamped so that ``log10(d)`` stays finite.
    """

    carrier_ghz: float
    uplink_power_dbm: float
    downlink_power_dbm: float
    noise_psd_dbm_per_hz: float
    noise_figure_db: float
    antenna_gain_db: float
    shadowing_sigma_db: float
    g2a_alpha: float
    g2a_constant_db: float | None
    a2a_alpha: float
    min_distance_m: float

    def validate(self, path: str = "channel") -> None:
        _check_range(f"{path}.carrier_ghz", self.carrier_ghz, 0.0, 100.0, low_open=True)
        _check_range(f"{path}.uplink_power_dbm", self.uplink_power_dbm, -50.0, 60.0)
        _check_range(f"{path}.downlink_power_dbm", self.downlink_power_dbm, -50.0, 60.0)
        _check_range(f"{path}.noise_psd_dbm_per_hz", self.noise_psd_dbm_per_hz, -200.0, -100.0)
        _check_range(f"{path}.noise_figure_db", self.noise_figure_db, 0.0, 30.0)
        _check_range(f"{path}.antenna_gain_db", self.antenna_gain_db, -30.0, 40.0)
        _check_range(f"{path}.shadowing_sigma_db", self.shadowing_sigma_db, 0.0, 30.0)
        _check_range(f"{path}.g2a_alpha", self.g2a_alpha, 1.0, 6.0)
        if self.g2a_constant_db is not None:
            _check_range(f"{path}.g2a_constant_db", self.g2a_constant_db, -50.0, 150.0)
        _check_range(f"{path}.a2a_alpha", self.a2a_alpha, 1.0, 6.0)
        _check_range(f"{path}.min_distance_m", self.min_distance_m, 0.0, 1000.0, low_open=True)

    @property
    def g2a_constant_resolved_db(self) -> float:
        """The constant C of ``PL_G2A`` in dB (derived from the carrier when not set)."""
        if self.g2a_constant_db is not None:
            return self.g2a_constant_db
        return 28.0 + 20.0 * math.log10(self.carrier_ghz)


@dataclass(frozen=True)
class ComputeProfileConfig:
    """Compute time of one task as a function of the compute allocated to it.

    ``compute_time_s = floor_s + scale_s * nominal_units / allocated_units``: time falls as the
    allocation rises (the paper's Fig. 2) towards a floor set by the hardware and by whether the
    server is accelerated. The paper gives no values (**open**); ``paper.yaml`` calibrates
    them to its stated facts.

    :param floor_s: time at infinite allocation (s).
    :param scale_s: extra time at the nominal allocation of one task (s).
    """

    floor_s: float
    scale_s: float

    def validate(self, path: str) -> None:
        _check_range(f"{path}.floor_s", self.floor_s, 0.0, 3600.0, low_open=True)
        _check_range(f"{path}.scale_s", self.scale_s, 0.0, 3600.0)


@dataclass(frozen=True)
class ServerConfig:
    """One server (cloud or edge).

    :param name: unique name, used in logs and CSVs.
    :param kind: ``"cloud"`` or ``"edge"``.
    :param position_m: (x, y, z) in metres; servers are ground nodes in the paper (z < 100 m).
    :param resource_share: this server's fraction of the environment's total compute, bandwidth
        and GPU memory; shares over all servers sum to 1.
    :param parallel_slots: how many tasks the server computes at once; further tasks wait FIFO.
    :param compute_profile: how compute time is modelled on this server, one of: the name of
        an entry of :attr:`ScenarioConfig.compute_profiles` (the calibrated Amdahl form; it wins
        over a shipped profile of the same name); the name of a shipped token-based profile
        (:func:`cloudedge.profiles.available_profiles`, e.g. ``"gptj6b_fp16_a100"``); or the
        path of a profile CSV (ending in ``.csv``, e.g. one written by ``cloudedge profile``).
        With a token-based profile a task's compute time is
        ``profile.compute_time_s(granted units / server's units, prompt tokens, completion
        tokens)``, with the task's actual token counts.
    :param pass_at_100: the pass@100 of GPT-J-6B served here (paper Table I).
    :param accelerated: whether inference is accelerated (Triton); informational, the effect is
        in the compute profile.
    """

    name: str
    kind: ServerKind
    position_m: tuple[float, float, float]
    resource_share: float
    parallel_slots: int
    compute_profile: str
    pass_at_100: float
    accelerated: bool = False

    def validate(self, path: str) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"{path}.name must be a non-empty string, got {self.name!r}")
        if self.kind not in ("cloud", "edge"):
            raise ConfigError(f"{path}.kind = {self.kind!r}: allowed 'cloud' or 'edge'")
        if len(self.position_m) != 3:
            raise ConfigError(f"{path}.position_m must have 3 entries (x, y, z) in metres")
        _check_range(f"{path}.resource_share", self.resource_share, 0.0, 1.0, low_open=True)
        _check_int(f"{path}.parallel_slots", self.parallel_slots, 1, 100000)
        _check_range(f"{path}.pass_at_100", self.pass_at_100, 0.0, 1.0)


@dataclass(frozen=True)
class TerminalFleetConfig:
    """The requesting terminals (PAPER.md sections 1 and 3; counts, speeds, heights **open**).

    Fixed terminals (PCs, workstations) and mobile ground terminals (phones, cars) stand at
    ``ground_height_m``; UAVs fly at a constant height drawn from ``uav_height_range_m`` (air:
    at or above 100 m). Mobile terminals and UAVs move in a straight line at a constant speed and
    heading drawn at reset, and reflect specularly off the area's walls (billiard motion), so
    they stay inside the area and keep their speed.

    :param n_fixed: fixed ground terminals.
    :param n_mobile: mobile ground terminals.
    :param n_uav: UAV terminals (air).
    :param ground_height_m: height of ground terminals, below 100 m.
    :param uav_height_range_m: (low, high) UAV heights, from 100 m to the area's height.
    :param mobile_speed_range_mps: (low, high) ground speeds.
    :param uav_speed_range_mps: (low, high) UAV speeds.
    """

    n_fixed: int
    n_mobile: int
    n_uav: int
    ground_height_m: float
    uav_height_range_m: tuple[float, float]
    mobile_speed_range_mps: tuple[float, float]
    uav_speed_range_mps: tuple[float, float]

    @property
    def n_terminals(self) -> int:
        return self.n_fixed + self.n_mobile + self.n_uav

    def validate(self, path: str, area_m: tuple[float, float, float]) -> None:
        for name in ("n_fixed", "n_mobile", "n_uav"):
            _check_int(f"{path}.{name}", getattr(self, name), 0, 100000)
        if self.n_terminals < 1:
            raise ConfigError(f"{path}: n_fixed + n_mobile + n_uav must be >= 1, got 0")
        _check_range(
            f"{path}.ground_height_m",
            self.ground_height_m,
            0.0,
            GROUND_AIR_BOUNDARY_M,
            high_open=True,
        )
        _check_pair(
            f"{path}.uav_height_range_m", self.uav_height_range_m, GROUND_AIR_BOUNDARY_M, area_m[2]
        )
        _check_pair(f"{path}.mobile_speed_range_mps", self.mobile_speed_range_mps, 0.0, 70.0)
        _check_pair(f"{path}.uav_speed_range_mps", self.uav_speed_range_mps, 0.0, 100.0)


def _check_pair(path: str, pair: tuple[float, float], low: float, high: float) -> None:
    if len(pair) != 2:
        raise ConfigError(f"{path} must be a pair (low, high)")
    _check_range(f"{path}[0]", pair[0], low, high)
    _check_range(f"{path}[1]", pair[1], low, high)
    if pair[0] > pair[1]:
        raise ConfigError(f"{path} = {pair!r}: low must be <= high")


@dataclass(frozen=True)
class WorkloadConfig:
    """Where tasks come from and when (PAPER.md sections 2 and 10).

    :param arrival: ``"burst"``: all tasks arrive uniformly at random within
        ``burst_window_s``; ``"poisson"``: exponential inter-arrival times at
        ``poisson_rate_hz``. Used by the ``humaneval`` and ``synthetic`` sources; an
        ``azure_trace`` workload arrives at the trace's own timestamps and ignores it.
    :param burst_window_s: length of the burst (s).
    :param poisson_rate_hz: arrival rate of the Poisson process (tasks/s).
    :param source: what each task asks for.

        * ``"humaneval"`` (the paper's): each task is one of the 164 real HumanEval problems
          drawn uniformly; PS_x is its prompt, PS_y its canonical solution.
        * ``"synthetic"``: every task has ``synthetic_prompt_tokens`` prompt and
          ``synthetic_completion_tokens`` completion tokens; PS_x and PS_y are those counts
          times ``bytes_per_token`` (rounded up).
        * ``"azure_trace"``: each episode replays ``n_tasks`` consecutive requests of an Azure
          LLM inference trace (``trace_path``), starting at an index drawn from the episode's
          random generator (so episodes differ by seed and repeat under ``reset(seed)``).
          Arrivals are the trace's timestamps re-based to 0 (time-scaled when
          ``trace_rate_hz`` is set); prompt and completion tokens are its ``ContextTokens``
          and ``GeneratedTokens``; PS_x and PS_y are those counts times ``bytes_per_token``.
    :param bytes_per_token: UTF-8 bytes per GPT-J (GPT-2 BPE) token, used both ways: HumanEval
        bytes to tokens, and trace or synthetic tokens to payload bytes (**open**).
    :param reserved_completion_tokens: KV-cache tokens reserved for the completion at
        admission (serving engines reserve the maximum generation length up front), in
        [0, 2047]. GPT-J-6B's context is 2,048 tokens, so a prompt longer than
        ``2048 - reserved_completion_tokens`` is truncated to that length (the server keeps its
        last tokens; the terminal still uploads all of it), and each episode counts such
        tasks (``info["truncated_prompts"]`` of the env).
    :param trace_path: ``azure_trace`` only: a CSV in the Azure trace schema
        (``TIMESTAMP,ContextTokens,GeneratedTokens``); ``None`` is the shipped Azure LLM
        inference trace 2023, coding (:func:`cloudedge.trace.default_azure_code_trace_path`).
    :param trace_rate_hz: ``azure_trace`` only: time-scale the whole trace so that its mean
        arrival rate is this (requests/s), keeping its burstiness; ``None`` replays real time.
    :param synthetic_prompt_tokens: ``synthetic`` only: prompt tokens of every task.
    :param synthetic_completion_tokens: ``synthetic`` only: completion tokens of every task.
    """

    arrival: ArrivalProcess
    burst_window_s: float
    poisson_rate_hz: float
    source: WorkloadSource
    bytes_per_token: float
    reserved_completion_tokens: int
    trace_path: str | None
    trace_rate_hz: float | None
    synthetic_prompt_tokens: int
    synthetic_completion_tokens: int

    def validate(self, path: str = "workload") -> None:
        if self.arrival not in ("burst", "poisson"):
            raise ConfigError(f"{path}.arrival = {self.arrival!r}: allowed 'burst' or 'poisson'")
        _check_range(f"{path}.burst_window_s", self.burst_window_s, 0.0, 1e6)
        _check_range(f"{path}.poisson_rate_hz", self.poisson_rate_hz, 0.0, 1e6, low_open=True)
        if self.source not in WORKLOAD_SOURCES:
            allowed = ", ".join(repr(s) for s in WORKLOAD_SOURCES)
            raise ConfigError(f"{path}.source = {self.source!r}: allowed {allowed}")
        _check_range(f"{path}.bytes_per_token", self.bytes_per_token, 0.5, 16.0)
        # GPT-J's context is 2,048 tokens: at least one must remain for the prompt.
        _check_int(f"{path}.reserved_completion_tokens", self.reserved_completion_tokens, 0, 2047)
        if self.trace_path is not None and (
            not isinstance(self.trace_path, str) or not self.trace_path
        ):
            raise ConfigError(
                f"{path}.trace_path = {self.trace_path!r}: allowed a non-empty path string or "
                "null (the shipped Azure code trace)"
            )
        if self.trace_rate_hz is not None:
            _check_range(f"{path}.trace_rate_hz", self.trace_rate_hz, 0.0, 1e6, low_open=True)
        _check_int(f"{path}.synthetic_prompt_tokens", self.synthetic_prompt_tokens, 1, 65536)
        _check_int(
            f"{path}.synthetic_completion_tokens", self.synthetic_completion_tokens, 1, 65536
        )


def _check_int(path: str, value: object, low: int, high: int) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer in ``[low, high]``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{path} = {value!r} is not an integer: allowed [{low}, {high}]")
    if not low <= value <= high:
        raise ConfigError(
            f"{path} = {value!r} is out of range: allowed integers in [{low}, {high}]"
        )


@dataclass(frozen=True)
class ResourceConfig:
    """How the environment's total resources are sized (PAPER.md section 10).

    The paper sets the total resources to the largest total demand of the tasks of one training
    episode, so that ``reference_tasks`` tasks are a 100% load. Compute and bandwidth demands
    are a nominal
    amount per task; the GPU-memory demand of a task is its KV cache (GPT-J-6B, fp16) for its
    prompt plus the reserved completion, plus a workspace.

    :param reference_tasks: the task count that is a 100% load.
    :param nominal_compute_units: compute demand of one task (abstract units: one task's share
        of a server's accelerator; **open**); it sets the scale of the compute profiles.
    :param nominal_bandwidth_hz: bandwidth demand of one task (**open**).
    :param kv_cache_bytes_per_value: bytes per KV-cache value: 1, 2 (fp16) or 4.
    :param workspace_mib: activation workspace per task on top of the KV cache (**open**).
    :param memory_demand_quantile_z: "largest total demand" of ``reference_tasks`` tasks of
        the selected workload (HumanEval in the paper; for a trace, prompts distributed as all
        its requests'), read as the upper normal quantile of their summed memory demand
        (``n*mean + z*std*sqrt(n)``).
    """

    reference_tasks: int
    nominal_compute_units: float
    nominal_bandwidth_hz: float
    kv_cache_bytes_per_value: int
    workspace_mib: float
    memory_demand_quantile_z: float

    def validate(self, path: str = "resources") -> None:
        _check_range(f"{path}.reference_tasks", self.reference_tasks, 1, 1e6)
        _check_range(
            f"{path}.nominal_compute_units", self.nominal_compute_units, 0.0, 1e6, low_open=True
        )
        _check_range(
            f"{path}.nominal_bandwidth_hz", self.nominal_bandwidth_hz, 0.0, 1e10, low_open=True
        )
        if self.kv_cache_bytes_per_value not in (1, 2, 4):
            raise ConfigError(
                f"{path}.kv_cache_bytes_per_value = {self.kv_cache_bytes_per_value!r}: "
                "allowed 1, 2 or 4"
            )
        _check_range(f"{path}.workspace_mib", self.workspace_mib, 0.0, 1e6)
        _check_range(f"{path}.memory_demand_quantile_z", self.memory_demand_quantile_z, 0.0, 10.0)


@dataclass(frozen=True)
class ScenarioConfig:
    """A whole scenario (see :func:`load_scenario` for the shipped ones).

    Every field is required: a scenario file gives all of them (nothing defaults silently).

    :param name: scenario name (recorded in results).
    :param n_tasks: tasks (decisions) per episode.
    :param t_max_s: deadline of every task, from its arrival to the delivery of its result.
    :param area_m: (x, y, z) extent of the simulated volume in metres.
    :param servers: the servers, at most one of kind ``"cloud"``; shares sum to 1.
    :param compute_profiles: named calibrated compute profiles the servers may use.
    :param terminals: the requesting terminals.
    :param channel: the wireless channel.
    :param workload: where tasks come from and when.
    :param resources: how the total resources are sized.
    """

    name: str
    n_tasks: int
    t_max_s: float
    area_m: tuple[float, float, float]
    servers: tuple[ServerConfig, ...]
    compute_profiles: Mapping[str, ComputeProfileConfig]
    terminals: TerminalFleetConfig
    channel: ChannelConfig
    workload: WorkloadConfig
    resources: ResourceConfig

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        _check_int("n_tasks", self.n_tasks, 1, 1_000_000)
        _check_range("t_max_s", self.t_max_s, 0.0, 86400.0, low_open=True)
        if len(self.area_m) != 3:
            raise ConfigError("area_m must have 3 entries (x, y, z) in metres")
        for i, extent in enumerate(self.area_m):
            _check_range(f"area_m[{i}]", extent, 0.0, 1e6, low_open=True)
        if len(self.servers) < 1:
            raise ConfigError("servers must list at least one server (got none)")
        for i, server in enumerate(self.servers):
            server.validate(f"servers[{i}]")
        names = [s.name for s in self.servers]
        if len(set(names)) != len(names):
            raise ConfigError(f"servers: names must be unique, got {names}")
        if sum(1 for s in self.servers if s.kind == "cloud") > 1:
            raise ConfigError("servers: at most one server may have kind 'cloud'")
        for i, server in enumerate(self.servers):
            for axis, (coord, extent) in enumerate(
                zip(server.position_m, self.area_m, strict=True)
            ):
                _check_range(f"servers[{i}].position_m[{axis}]", coord, 0.0, extent)
            _check_compute_profile(f"servers[{i}].compute_profile", server, self)
        total_share = sum(s.resource_share for s in self.servers)
        if abs(total_share - 1.0) > 1e-6:
            raise ConfigError(
                f"servers[*].resource_share must sum to 1 (allowed 1 +/- 1e-6), got {total_share}"
            )
        for name, profile in self.compute_profiles.items():
            profile.validate(f"compute_profiles.{name}")
        self.terminals.validate("terminals", self.area_m)
        self.channel.validate("channel")
        self.workload.validate("workload")
        self.resources.validate("resources")

    @property
    def n_servers(self) -> int:
        return len(self.servers)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), the form of the scenario YAML files."""
        return _plain(dataclasses.asdict(self))

    def replace(self, **overrides: Any) -> ScenarioConfig:
        """A copy with ``overrides`` merged in (nested dicts merge recursively)."""
        return scenario_from_dict(_merge(self.to_dict(), overrides))


def _check_compute_profile(path: str, server: ServerConfig, scenario: ScenarioConfig) -> None:
    """A server's ``compute_profile`` must name a scenario profile, a shipped token profile or
    an existing profile CSV (see :class:`ServerConfig`)."""
    name = server.compute_profile
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path} must be a non-empty string, got {name!r}")
    if name in scenario.compute_profiles:
        return
    # Imported here: only scenarios that use token profiles pay for the directory listing.
    from cloudedge.profiles import available_profiles

    shipped = available_profiles()
    if name in shipped:
        return
    if name.endswith(".csv"):
        if Path(name).is_file():
            return
        raise ConfigError(f"{path} = {name!r}: no such profile CSV file")
    raise ConfigError(
        f"{path} = {name!r} is unknown: allowed {sorted(scenario.compute_profiles)} "
        f"(scenario compute_profiles), {shipped} (shipped token profiles) "
        "or the path of a profile CSV ending in .csv"
    )


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _merge(base: dict[str, Any], overrides: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        where = f"{path}{key}"
        if key not in merged and path != "compute_profiles.":
            raise ConfigError(f"unknown scenario field {where!r}: allowed {sorted(merged)}")
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value, f"{where}.")
        else:
            merged[key] = _plain(value)
    return merged


def _key_text(key: Any) -> str:
    """A user-given key as it should appear in a one-line error: bare when it is a plain
    printable name, quoted (``repr``) when it is empty or holds spaces or control characters."""
    text = str(key)
    if text and text.isprintable() and not any(c.isspace() for c in text):
        return text
    return repr(key)


def _build(cls: type, data: Any, path: str) -> Any:
    """Build dataclass ``cls`` from ``data``, naming unknown and missing fields."""
    where = path or "scenario"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping of fields, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    prefix = f"{path}." if path else ""
    unknown = sorted(_key_text(k) for k in set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown scenario field {prefix}{unknown[0]}: allowed {sorted(known)}")
    required = [
        name
        for name, f in known.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in data]
    if missing:  # a scenario file gives every value: nothing defaults silently
        raise ConfigError(
            f"missing scenario field {prefix}{missing[0]} (required: {', '.join(missing)})"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        sub = f"{prefix}{key}"
        if key in _NESTED.get(cls, {}):
            kwargs[key] = _build(_NESTED[cls][key], value, sub)
        elif cls is ScenarioConfig and key == "servers":
            if not isinstance(value, list | tuple):
                raise ConfigError(f"servers must be a list of server mappings, got {value!r}")
            kwargs[key] = tuple(
                _build(ServerConfig, s, f"servers[{i}]") for i, s in enumerate(value)
            )
        elif cls is ScenarioConfig and key == "compute_profiles":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"compute_profiles must be a mapping name -> profile, got {value!r}"
                )
            kwargs[key] = {
                str(n): _build(ComputeProfileConfig, p, f"compute_profiles.{_key_text(n)}")
                for n, p in value.items()
            }
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        elif "tuple[" in str(known[key].type) and not isinstance(value, tuple):
            raise ConfigError(f"{sub} must be a list, got {value!r}")
        else:
            kwargs[key] = value
    return cls(**kwargs)


_NESTED: dict[type, dict[str, type]] = {
    ScenarioConfig: {
        "terminals": TerminalFleetConfig,
        "channel": ChannelConfig,
        "workload": WorkloadConfig,
        "resources": ResourceConfig,
    },
}


def scenario_from_dict(data: Mapping[str, Any]) -> ScenarioConfig:
    """Build and validate a :class:`ScenarioConfig` from a nested mapping (e.g. parsed YAML).

    Every field is required (see the shipped files in :data:`SCENARIO_DIR`).

    :raises ConfigError: naming the first missing, unknown or out-of-range field.
    """
    return _build(ScenarioConfig, data, "")


#: The shipped scenarios, one YAML file each: the only definition of every named scenario. The
#: folder is laid out as a Hydra config root (group ``env``), so ``conf/config.yaml`` puts
#: ``pkg://cloudedge.scenarios`` on Hydra's search path and ``env=NAME`` reads the same files.
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios" / "env"


def available_scenarios() -> list[str]:
    """Names of the shipped scenarios (every ``*.yaml`` in :data:`SCENARIO_DIR`), sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def scenario_path(name: str) -> Path:
    """The YAML file of shipped scenario ``name``.

    :raises ConfigError: when no such scenario is shipped (the message lists those that are).
    """
    path = SCENARIO_DIR / f"{name}.yaml"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        raise ConfigError(
            f"scenario = {name!r} is unknown: allowed {available_scenarios()} "
            "or the path of a scenario YAML file"
        )
    return path


@lru_cache(maxsize=32)
def _read_yaml(path: str, mtime_ns: int, size_bytes: int) -> Any:
    """Parse a scenario file; the key holds its version so that an edited file is re-read."""
    import yaml

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"not a UTF-8 text file (byte {err.start}): a scenario is a YAML file"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"malformed YAML{where}: {problem}") from None
    if data is None:
        raise ConfigError("empty file: a scenario is a mapping of every scenario field")
    return data


def load_scenario_yaml(path: str | Path) -> ScenarioConfig:
    """Read a scenario from a YAML file in the form of the shipped ones (:data:`SCENARIO_DIR`).

    :raises ConfigError: naming the file and the first bad field (or the YAML problem).
    """
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read scenario file: {err.strerror}") from None
    try:
        data = copy.deepcopy(_read_yaml(str(resolved), stat.st_mtime_ns, stat.st_size))
        return scenario_from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def load_scenario(scenario: str | Path, **overrides: Any) -> ScenarioConfig:
    """A shipped scenario by name, or a scenario YAML file by path, with optional overrides.

    :param scenario: a name of :func:`available_scenarios` or a path ending in ``.yaml``/``.yml``.
    :param overrides: scenario fields to override (nested dicts merge).
    """
    text = str(scenario)
    path = Path(text) if text.endswith((".yaml", ".yml")) else scenario_path(text)
    base = load_scenario_yaml(path)
    return base.replace(**overrides) if overrides else base


def paper_scenario(**overrides: Any) -> ScenarioConfig:
    """The paper's scenario (``paper.yaml`` in :data:`SCENARIO_DIR`), with optional overrides."""
    return load_scenario("paper", **overrides)

"""The simulation's entities: terminals that move and servers that hold resources.

Servers are the handlers of the simulator's timed events (resource releases); terminals have no
events of their own because their straight-line, wall-reflected motion has a closed form.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from cloudedge.config import (
    ComputeProfileConfig,
    ScenarioConfig,
    ServerConfig,
    TerminalFleetConfig,
    TerminalKind,
)
from cloudedge.profiles import ComputeProfile, load_profile
from cloudedge.workload import TotalResources

#: How a server's compute time is modelled: the paper's calibrated Amdahl form (time from the
#: granted units only) or a token-based profile (time from share, prompt and completion tokens).
ComputeModel = ComputeProfileConfig | ComputeProfile


def _reflect(coordinate: float, extent: float) -> float:
    """Fold an unbounded 1-D coordinate into ``[0, extent]`` by specular reflection."""
    period = 2.0 * extent
    folded = coordinate % period
    return folded if folded <= extent else period - folded


@dataclass(frozen=True)
class Terminal:
    """A requesting terminal; its position is a closed-form function of time.

    :param terminal_id: index in the fleet.
    :param kind: ``"fixed"``, ``"mobile"`` (ground) or ``"uav"`` (air).
    :param start_m: position (x, y, z) at simulated time 0.
    :param velocity_mps: constant horizontal velocity (vx, vy); heights do not change.
    :param area_m: the bounding box it reflects off.
    """

    terminal_id: int
    kind: TerminalKind
    start_m: tuple[float, float, float]
    velocity_mps: tuple[float, float]
    area_m: tuple[float, float, float]

    @property
    def height_m(self) -> float:
        return self.start_m[2]

    def position_m(self, time_s: float) -> tuple[float, float, float]:
        """Position at ``time_s``: straight-line motion, reflecting off the area's walls."""
        x0, y0, z0 = self.start_m
        vx, vy = self.velocity_mps
        if vx == 0.0 and vy == 0.0:
            return self.start_m
        return (
            _reflect(x0 + vx * time_s, self.area_m[0]),
            _reflect(y0 + vy * time_s, self.area_m[1]),
            z0,
        )

    def distance_m(self, point_m: tuple[float, float, float], time_s: float) -> float:
        """3-D Euclidean distance to ``point_m`` at ``time_s`` (PAPER.md section 3)."""
        x, y, z = self.position_m(time_s)
        return math.sqrt((x - point_m[0]) ** 2 + (y - point_m[1]) ** 2 + (z - point_m[2]) ** 2)


def make_fleet(
    fleet: TerminalFleetConfig, area_m: tuple[float, float, float], rng: np.random.Generator
) -> list[Terminal]:
    """Place the fleet uniformly in the area, draw speeds and headings (fixed ones stand still)."""
    kinds: list[TerminalKind] = (
        ["fixed"] * fleet.n_fixed + ["mobile"] * fleet.n_mobile + ["uav"] * fleet.n_uav
    )
    terminals = []
    for terminal_id, kind in enumerate(kinds):
        x = float(rng.uniform(0.0, area_m[0]))
        y = float(rng.uniform(0.0, area_m[1]))
        if kind == "uav":
            z = float(rng.uniform(*fleet.uav_height_range_m))
            speed = float(rng.uniform(*fleet.uav_speed_range_mps))
        else:
            z = fleet.ground_height_m
            speed = float(rng.uniform(*fleet.mobile_speed_range_mps)) if kind == "mobile" else 0.0
        heading = float(rng.uniform(0.0, 2.0 * math.pi))
        velocity = (speed * math.cos(heading), speed * math.sin(heading)) if speed else (0.0, 0.0)
        terminals.append(Terminal(terminal_id, kind, (x, y, z), velocity, area_m))
    return terminals


#: Relative slack when comparing a share with what remains or with a need: actions arrive as
#: float32 (7 significant digits), so an exact share can round a hair above or below.
SHARE_TOLERANCE = 1e-6


@dataclass
class Allocation:
    """Resources granted to one task on one server."""

    compute_units: float
    bandwidth_hz: float
    memory_bytes: float


class Server:
    """A server's capacity, what remains of it, and its compute slots.

    Slots are kept as a heap of the times at which each becomes free, so the FIFO wait of a new
    task is the remaining time of the task in service that finishes first (paper eq. 8, L_q).

    :param index: position in the scenario's server list.
    :param config: the server's configuration.
    :param profile: its compute-time model (see :func:`resolve_compute_profile`).
    :param compute_units: total compute capacity.
    :param bandwidth_hz: total bandwidth.
    :param memory_bytes: total GPU memory available to tasks.
    :param nominal_compute_units: one task's nominal compute demand (the profile's unit).
    :param table_row: a length-4 view the server keeps equal to (remaining compute, bandwidth,
        memory as fractions of capacity, time its first slot frees), so that observations read
        every server's state with one array operation.
    """

    def __init__(
        self,
        index: int,
        config: ServerConfig,
        profile: ComputeModel,
        compute_units: float,
        bandwidth_hz: float,
        memory_bytes: float,
        nominal_compute_units: float,
        table_row: np.ndarray | None = None,
    ) -> None:
        self.index = index
        self.config = config
        self.profile = profile
        self._token_profile = profile if isinstance(profile, ComputeProfile) else None
        self.capacity = Allocation(compute_units, bandwidth_hz, memory_bytes)
        self.nominal_compute_units = nominal_compute_units
        self.position_m = config.position_m
        self.remaining = Allocation(compute_units, bandwidth_hz, memory_bytes)
        self._slot_free_s = [0.0] * config.parallel_slots
        self.table_row = np.array([1.0, 1.0, 1.0, 0.0]) if table_row is None else table_row
        self.table_row[:] = (1.0, 1.0, 1.0, 0.0)

    def clone(self, table_row: np.ndarray | None = None) -> Server:
        """An independent copy (own remaining resources, slots and table row).

        :param table_row: the length-4 view the copy keeps its state in (default: its own).
        """
        twin = Server(
            self.index,
            self.config,
            self.profile,
            self.capacity.compute_units,
            self.capacity.bandwidth_hz,
            self.capacity.memory_bytes,
            self.nominal_compute_units,
            table_row,
        )
        rem = self.remaining
        twin.remaining = Allocation(rem.compute_units, rem.bandwidth_hz, rem.memory_bytes)
        twin._slot_free_s = list(self._slot_free_s)
        twin.table_row[:] = self.table_row
        return twin

    def _sync_row(self) -> None:
        rem, cap, row = self.remaining, self.capacity, self.table_row
        row[0] = rem.compute_units / cap.compute_units
        row[1] = rem.bandwidth_hz / cap.bandwidth_hz
        row[2] = rem.memory_bytes / cap.memory_bytes

    def can_grant(self, request: Allocation) -> bool:
        """Whether ``request`` fits in what remains, up to :data:`SHARE_TOLERANCE` of capacity."""
        rem, cap = self.remaining, self.capacity
        tol = SHARE_TOLERANCE
        return (
            request.compute_units <= rem.compute_units + tol * cap.compute_units
            and request.bandwidth_hz <= rem.bandwidth_hz + tol * cap.bandwidth_hz
            and request.memory_bytes <= rem.memory_bytes + tol * cap.memory_bytes
        )

    def grant(self, request: Allocation) -> Allocation:
        """Take ``request`` from what remains; return what was actually taken (a request
        within the tolerance above what remains takes only what remains, so that releasing
        it later cannot create resources)."""
        rem = self.remaining
        granted = Allocation(
            min(request.compute_units, rem.compute_units),
            min(request.bandwidth_hz, rem.bandwidth_hz),
            min(request.memory_bytes, rem.memory_bytes),
        )
        rem.compute_units -= granted.compute_units
        rem.bandwidth_hz -= granted.bandwidth_hz
        rem.memory_bytes -= granted.memory_bytes
        self._sync_row()
        return granted

    def release(self, allocation: Allocation) -> None:
        """Return a task's resources (handler of the release event)."""
        rem, cap = self.remaining, self.capacity
        rem.compute_units = min(cap.compute_units, rem.compute_units + allocation.compute_units)
        rem.bandwidth_hz = min(cap.bandwidth_hz, rem.bandwidth_hz + allocation.bandwidth_hz)
        rem.memory_bytes = min(cap.memory_bytes, rem.memory_bytes + allocation.memory_bytes)
        self._sync_row()

    @property
    def uses_tokens(self) -> bool:
        """Whether compute time depends on the task's token counts (a token-based profile)."""
        return self._token_profile is not None

    def compute_time_s(
        self,
        compute_units: float,
        prompt_tokens: float | None = None,
        completion_tokens: float | None = None,
    ) -> float:
        """Compute time of one task granted ``compute_units`` (infinite at zero).

        :param compute_units: compute granted to the task.
        :param prompt_tokens: the task's prompt length; needed by a token-based profile only.
        :param completion_tokens: the task's actual completion length; likewise.
        """
        if compute_units <= 0.0:
            return math.inf
        token_profile = self._token_profile
        if token_profile is None:
            return self.profile.floor_s + self.profile.scale_s * (
                self.nominal_compute_units / compute_units
            )
        if prompt_tokens is None or completion_tokens is None:
            raise ValueError(
                f"server {self.config.name!r} uses the token profile {token_profile.name!r}: "
                "compute_time_s needs prompt_tokens and completion_tokens"
            )
        # Grants may exceed the capacity by the float32 tolerance; a share is at most 1.
        share = min(1.0, compute_units / self.capacity.compute_units)
        return token_profile.compute_time_s(share, prompt_tokens, completion_tokens)

    def earliest_slot_free_s(self) -> float:
        return self._slot_free_s[0]

    def occupy_slot(self, until_s: float) -> None:
        """Take the slot that frees first and hold it until ``until_s``."""
        heapq.heapreplace(self._slot_free_s, until_s)
        self.table_row[3] = self._slot_free_s[0]


@cache
def _shipped_profile(name: str) -> ComputeProfile:
    return load_profile(name)


@lru_cache(maxsize=32)
def _csv_profile(path: str, mtime_ns: int, size_bytes: int) -> ComputeProfile:
    """A profile CSV, parsed once per file version (the key holds it)."""
    return ComputeProfile.from_csv(path)


def resolve_compute_profile(scenario: ScenarioConfig, name: str) -> ComputeModel:
    """The compute model a server's ``compute_profile`` names (rules in
    :class:`~cloudedge.config.ServerConfig`): a scenario profile first, then a shipped token
    profile, then a profile CSV path. Files are parsed once per process.

    :raises ProfileFormatError: when a profile CSV is malformed.
    :raises ValueError: when ``name`` is none of these (validation rejects it first).
    """
    if name in scenario.compute_profiles:
        return scenario.compute_profiles[name]
    if name.endswith(".csv"):
        path = Path(name).resolve()
        stat = path.stat()
        return _csv_profile(str(path), stat.st_mtime_ns, stat.st_size)
    return _shipped_profile(name)  # load_profile rejects an unknown name, listing the known


def make_servers(
    scenario: ScenarioConfig, totals: TotalResources
) -> tuple[list[Server], np.ndarray]:
    """Split the total resources among the servers by their ``resource_share``.

    :return: the servers and their shared state table (one row per server, see ``table_row``).
    """
    table = np.zeros((scenario.n_servers, 4))
    servers = []
    for index, cfg in enumerate(scenario.servers):
        share = cfg.resource_share
        servers.append(
            Server(
                index=index,
                config=cfg,
                profile=resolve_compute_profile(scenario, cfg.compute_profile),
                compute_units=share * totals.compute_units,
                bandwidth_hz=share * totals.bandwidth_hz,
                memory_bytes=share * totals.memory_bytes,
                nominal_compute_units=scenario.resources.nominal_compute_units,
                table_row=table[index],
            )
        )
    return servers, table

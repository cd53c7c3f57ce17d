"""The discrete-event core: a heap of timed events and the admission of tasks.

Why a task's outcome is known at admission: servers serve tasks first-come-first-served and
never pre-empt, so a task's queueing wait depends only on tasks admitted before it (each
takes, at admission, the compute slot that frees first). Its upload and download draw their
shadow fading when it is admitted, and the terminal's motion is deterministic. So the latency
of eq. 8 (and the reward of eq. 14) of every task follows from the state at its admission,
and later decisions cannot change it. What later tasks *see* does depend on time: resources
are held from admission until the result is delivered (or the task is abandoned at its
deadline) and only come back through release events, in time order.

Deadline handling (**open** in the paper): a task is abandoned at its deadline (arrival +
t_max), not at admission; until then it holds everything it was granted, and its compute
slot until the deadline or until its compute ends, whichever is first. A server that never
started it (still queued at the deadline) does not spend a slot on it.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import math
from typing import NamedTuple

import numpy as np

from cloudedge.channel import SPEED_OF_LIGHT_MPS, Channel
from cloudedge.config import ScenarioConfig
from cloudedge.entities import (
    SHARE_TOLERANCE,
    Allocation,
    Server,
    Terminal,
    make_fleet,
    make_servers,
)
from cloudedge.metrics import TaskStatus, task_reward
from cloudedge.workload import TaskBatch, Workload, load_workload, total_resources


class TaskOutcome(NamedTuple):
    """Everything known about one task once it is admitted (eq. 8 terms in seconds).

    ``latency_s`` is the delivery latency the task had or would have had (infinite when it
    could never finish, NaN when it was refused at admission); ``pass_at_100`` is the server's
    pass@100 when the task completed, else 0.

    Immutable; a named tuple rather than a frozen dataclass because one is built per step,
    and building a 22-field frozen dataclass cost ~5 us of a ~45 us step.
    """

    task_index: int
    server: int
    terminal_id: int
    status: TaskStatus
    arrival_s: float
    latency_s: float
    upload_s: float
    propagation_s: float
    queue_s: float
    compute_s: float
    download_s: float
    d1_m: float
    d2_m: float
    uplink_rate_bps: float
    downlink_rate_bps: float
    compute_units: float
    bandwidth_hz: float
    memory_bytes: float
    memory_need_bytes: float
    pass_at_100: float
    reward: float
    released_s: float

    @property
    def completed(self) -> bool:
        return self.status is TaskStatus.COMPLETED

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat record for ``info`` and CSVs."""
        record: dict[str, float | int | str] = {
            k: getattr(self, k) for k in self._fields if k != "status"
        }
        record["status"] = self.status.value
        return record


class Timeline(NamedTuple):
    """When each part of eq. 8 happens for one task on one server (times in s)."""

    arrival_s: float
    d1_m: float
    d2_m: float
    uplink_rate_bps: float
    downlink_rate_bps: float
    upload_s: float
    at_server_s: float
    start_s: float
    compute_s: float
    finish_s: float
    download_s: float
    delivered_s: float


class Simulator:
    """One episode of the cloud-edge system, advanced task by task.

    :param scenario: the scenario.
    :param rng: the episode's random generator (terminals, tasks, fading).
    :param workload: the scenario's workload (:func:`~cloudedge.workload.load_workload`), so
        that an environment reads its trace once; default: loaded here (cached per file).
    """

    def __init__(
        self,
        scenario: ScenarioConfig,
        rng: np.random.Generator,
        workload: Workload | None = None,
    ) -> None:
        self.scenario = scenario
        self.rng = rng
        self.channel = Channel(scenario.channel)
        self.workload = load_workload(scenario) if workload is None else workload
        self.totals = total_resources(scenario, self.workload)
        self.servers: list[Server]
        #: Per server: remaining compute, bandwidth, memory (fractions), first slot free (s).
        self.server_table: np.ndarray
        self.servers, self.server_table = make_servers(scenario, self.totals)
        self.terminals: list[Terminal] = make_fleet(scenario.terminals, scenario.area_m, rng)
        self.tasks: TaskBatch = self.workload.draw(scenario, len(self.terminals), rng)
        # Plain-list copies of the per-task columns read at every decision: indexing a list
        # is several times cheaper than reading a numpy scalar (same values).
        tasks = self.tasks
        #: Tasks in the episode.
        self.n_tasks = len(tasks)
        self._arrival_s: list[float] = tasks.arrival_s.tolist()
        self._terminal_id: list[int] = tasks.terminal_id.tolist()
        self._prompt_bytes: list[float] = tasks.prompt_bytes.tolist()
        self._completion_bytes: list[float] = tasks.completion_bytes.tolist()
        self._memory_need_bytes: list[float] = tasks.memory_need_bytes.tolist()
        self._prompt_tokens: list[int] = tasks.prompt_tokens.tolist()
        self._completion_tokens: list[int] = tasks.completion_tokens.tolist()
        self.now_s = 0.0
        self.next_task = 0
        # Event heap entries: (time_s, sequence, server index, allocation to release).
        self._events: list[tuple[float, int, int, Allocation]] = []
        self._sequence = itertools.count()
        # Pre-draw the shadow fading of both transmissions of every task, so that a task's
        # fading does not depend on which server it was sent to (common random numbers).
        sigma = scenario.channel.shadowing_sigma_db
        self._fading_db = np.abs(rng.normal(0.0, sigma, size=(len(self.tasks), 2))).tolist()
        self.advance_to(self._arrival_s[0])

    # -- events ---------------------------------------------------------------------------
    def schedule_release(self, time_s: float, server: int, allocation: Allocation) -> None:
        heapq.heappush(self._events, (time_s, next(self._sequence), server, allocation))

    def advance_to(self, time_s: float) -> None:
        """Process every event due at or before ``time_s``, then set the clock to it."""
        events = self._events
        while events and events[0][0] <= time_s:
            _, _, server, allocation = heapq.heappop(events)
            self.servers[server].release(allocation)
        self.now_s = max(self.now_s, time_s)

    def drain(self) -> float:
        """Process all remaining events; return the time of the last one."""
        last = self.now_s
        if self._events:
            last = max(t for t, *_ in self._events)
            self.advance_to(last)
        return last

    @property
    def pending_events(self) -> int:
        return len(self._events)

    @property
    def done(self) -> bool:
        return self.next_task >= self.n_tasks

    # -- the current task -----------------------------------------------------------------
    def current_terminal(self) -> Terminal:
        return self.terminals[self._terminal_id[self.next_task]]

    def current_memory_need_bytes(self) -> float:
        return self._memory_need_bytes[self.next_task]

    def current_prompt_tokens(self) -> int:
        return self._prompt_tokens[self.next_task]

    # -- admission ------------------------------------------------------------------------
    def admit(self, server_index: int, shares: tuple[float, float, float]) -> TaskOutcome:
        """Decide the current task: offload it to ``server_index`` with capacity ``shares``
        (compute, bandwidth, memory, each a fraction of that server's total), then advance
        the clock to the next task's arrival (or leave it when this was the last task).
        """
        outcome = self._serve(self.servers[server_index], shares, commit=True)
        self.next_task += 1
        if not self.done:
            self.advance_to(self._arrival_s[self.next_task])
        return outcome

    def clone(self) -> Simulator:
        """An independent copy of the episode's state (clock, next task, every server's
        remaining resources and slots, pending releases), to play a different future from
        here; the tasks, terminals, fading and channel are shared (never changed)."""
        twin = copy.copy(self)
        twin.server_table = self.server_table.copy()
        twin.servers = [s.clone(twin.server_table[k]) for k, s in enumerate(self.servers)]
        twin._events = list(self._events)  # the granted allocations are never changed
        # Both continue from the same sequence number: each heap only orders its own events.
        start = next(self._sequence)
        self._sequence = itertools.count(start)
        twin._sequence = itertools.count(start)
        return twin

    def preview(self, server_index: int, shares: tuple[float, float, float]) -> TaskOutcome:
        """The outcome :meth:`admit` would give the current task, changing nothing."""
        return self._serve(self.servers[server_index].clone(), shares, commit=False)

    def timeline(
        self, task: int, server: Server, compute_units: float, bandwidth_hz: float
    ) -> Timeline:
        """Eq. 8 for ``task`` on ``server`` with the given grant, queueing behind the server's
        current slots (pure: reads the server, changes nothing)."""
        channel = self.channel
        cfg = self.scenario.channel
        terminal = self.terminals[self._terminal_id[task]]
        height = terminal.height_m
        server_pos = server.position_m
        fading_up, fading_down = self._fading_db[task]
        t0 = self._arrival_s[task]

        # Uplink at arrival: PS_x over R_up, plus propagation over d1.
        d1 = terminal.distance_m(server_pos, t0)
        gain_up = channel.gain_db(channel.path_loss_db(d1, height, server_pos[2]), fading_up)
        rate_up = channel.rate_bps(bandwidth_hz, cfg.uplink_power_dbm, gain_up)
        upload = channel.transmission_time_s(self._prompt_bytes[task], rate_up)
        at_server = t0 + upload + d1 / SPEED_OF_LIGHT_MPS

        # FIFO slots: wait for the task in service that finishes first (eq. 8, L_q).
        start = max(at_server, server.earliest_slot_free_s())
        compute = server.compute_time_s(
            compute_units, self._prompt_tokens[task], self._completion_tokens[task]
        )
        finish = start + compute

        # Downlink when the result is ready: the terminal has moved, d2 != d1.
        if math.isfinite(finish):
            d2 = terminal.distance_m(server_pos, finish)
            gain_down = channel.gain_db(
                channel.path_loss_db(d2, height, server_pos[2]), fading_down
            )
            rate_down = channel.rate_bps(bandwidth_hz, cfg.downlink_power_dbm, gain_down)
            download = channel.transmission_time_s(self._completion_bytes[task], rate_down)
            delivered = finish + download + d2 / SPEED_OF_LIGHT_MPS
        else:
            d2, rate_down, download, delivered = math.nan, math.nan, math.inf, math.inf
        # Positional, in field order: keyword binding would cost as much as the rest.
        return Timeline(
            t0, d1, d2, rate_up, rate_down, upload, at_server, start, compute, finish, download,
            delivered,
        )  # fmt: skip

    def _serve(
        self, server: Server, shares: tuple[float, float, float], *, commit: bool
    ) -> TaskOutcome:
        i = self.next_task
        cap = server.capacity
        request = Allocation(
            shares[0] * cap.compute_units,
            shares[1] * cap.bandwidth_hz,
            shares[2] * cap.memory_bytes,
        )
        t0 = self._arrival_s[i]
        need = self._memory_need_bytes[i]
        terminal_id = self._terminal_id[i]
        nan = math.nan
        refused: TaskStatus | None = None
        if not server.can_grant(request):
            refused = TaskStatus.INVALID_ALLOCATION
        elif request.memory_bytes < need * (1.0 - SHARE_TOLERANCE):
            refused = TaskStatus.OUT_OF_MEMORY
        if refused is not None:
            return TaskOutcome(
                i, server.index, terminal_id, refused, t0, nan, nan, nan, nan, nan, nan,
                nan, nan, nan, nan, request.compute_units, request.bandwidth_hz,
                request.memory_bytes, need, 0.0, 0.0, t0,
            )  # fmt: skip
        tl = self.timeline(i, server, request.compute_units, request.bandwidth_hz)
        deadline = t0 + self.scenario.t_max_s
        completed = tl.delivered_s <= deadline
        granted = server.grant(request)
        if completed:
            server.occupy_slot(tl.finish_s)
            released = tl.delivered_s
        else:
            if tl.start_s < deadline:
                server.occupy_slot(min(tl.finish_s, deadline))
            released = deadline
        if commit:
            self.schedule_release(released, server.index, granted)
        pass_at_100 = server.config.pass_at_100 if completed else 0.0
        latency = tl.delivered_s - t0
        propagation = (tl.d1_m + (tl.d2_m if math.isfinite(tl.d2_m) else 0.0)) / SPEED_OF_LIGHT_MPS
        # Positional, in field order (keyword binding of 22 fields costs ~1.5 us a step).
        return TaskOutcome(
            i, server.index, terminal_id,
            TaskStatus.COMPLETED if completed else TaskStatus.DEADLINE,
            t0, latency, tl.upload_s, propagation,
            tl.start_s - tl.at_server_s if math.isfinite(tl.at_server_s) else math.inf,  # queue
            tl.compute_s, tl.download_s, tl.d1_m, tl.d2_m,
            tl.uplink_rate_bps, tl.downlink_rate_bps,
            request.compute_units, request.bandwidth_hz, request.memory_bytes, need,
            pass_at_100, task_reward(completed, latency, pass_at_100), released,
        )  # fmt: skip

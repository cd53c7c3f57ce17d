"""cloudedge: a discrete-event simulator of LLM inference offloading in cloud-edge computing.

``gymnasium.make("cloudedge/LLMOffload-v0", t_max_s=3.0)`` builds the paper's scenario with
overrides; see :class:`cloudedge.env.CloudEdgeEnv` for the spaces.
"""

from gymnasium.envs.registration import register, registry

from cloudedge.config import ConfigError, ScenarioConfig, paper_scenario
from cloudedge.env import CloudEdgeEnv, make_scenario
from cloudedge.metrics import EpisodeMetrics, TaskStatus, rewardless_guidance, task_reward, utility
from cloudedge.sim import Simulator, TaskOutcome
from cloudedge.wrappers import BoxActionWrapper, DiscreteActionWrapper

__version__ = "0.1.0"
ENV_ID = "cloudedge/LLMOffload-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="cloudedge.env:CloudEdgeEnv")

__all__ = [
    "ENV_ID",
    "BoxActionWrapper",
    "CloudEdgeEnv",
    "ConfigError",
    "DiscreteActionWrapper",
    "EpisodeMetrics",
    "ScenarioConfig",
    "Simulator",
    "TaskOutcome",
    "TaskStatus",
    "make_scenario",
    "paper_scenario",
    "rewardless_guidance",
    "task_reward",
    "utility",
]

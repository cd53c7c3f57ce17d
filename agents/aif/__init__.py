"""Active-inference offloading agent (He et al., IEEE TMC 2024, Algorithm 1).

Read in order: ``model.py`` (the ensemble generative model), ``info_gain.py`` (r1),
``planner.py`` (CEM with r = r1 + r2), ``agent.py`` (the loop, buffer, save/load).
"""

from agents.aif.agent import AIFAgent, AIFConfig

__all__ = ["AIFAgent", "AIFConfig"]

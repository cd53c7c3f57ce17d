"""Offloading agents: the active-inference agent, DRL baselines, heuristics and bounds."""

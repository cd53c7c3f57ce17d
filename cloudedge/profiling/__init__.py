"""Compute-time profiling of real LLM generation, kept out of the simulator core.

:mod:`cloudedge.profiling.gptj` times GPT-J with torch and transformers (the optional extra
``cloudedge-bench[profile]``); nothing imports it but ``cloudedge profile``, so the simulator
itself needs neither. The CSVs it writes are read by :mod:`cloudedge.profiles`.
"""

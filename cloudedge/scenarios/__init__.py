"""The shipped scenarios: one YAML file per scenario in ``env/``, their only definition.

The folder is a Hydra config root whose group ``env`` holds the scenarios, so that
``conf/config.yaml``'s search path entry ``pkg://cloudedge.scenarios`` makes ``env=NAME`` read
the same files as :func:`cloudedge.config.load_scenario` and ``gym.make(..., scenario=NAME)``.
Any ``*.yaml`` dropped into ``env/`` is a scenario under its file name.
"""

"""benchmarks/kernel_drift.py: emulated hosts, and AIF's arithmetic across them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import kernel_drift as kd

# Inputs where vector and scalar exp/log kernels are known to round apart (wide range, every
# tail length up to two AVX-512 vectors, a strided view).
SCRIPT = """
import hashlib, json, numpy as np
from agents.aif import elementwise as ew
rng = np.random.default_rng(1)
ours, numpy = hashlib.sha256(), hashlib.sha256()
for size in [*range(1, 18), 1000, 4097]:
    for scale in (0.1, 1.0, 5.0, 30.0):
        a = rng.standard_normal(size) * scale
        for r in (ew.exp(a), ew.log(np.abs(a) + 1e-9), ew.log1p(np.abs(a)), ew.sigmoid(a),
                  ew.silu(a), ew.silu(np.stack([a, a], 1)[:, 0])):
            ours.update(np.ascontiguousarray(r).tobytes())
        with np.errstate(all="ignore"):
            for r in (np.exp(a), np.log(np.abs(a) + 1e-9)):
                numpy.update(r.tobytes())
print(json.dumps({"ours": ours.hexdigest(), "numpy": numpy.hexdigest()}))
"""


def digests(profile: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=kd.profile_env(profile),
                          cwd=kd.ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize("profile", ["torch_avx2", "numpy_avx2"])
def test_aifs_elementwise_functions_do_not_follow_torch_s_or_numpy_s_kernel_level(
    profile: str,
) -> None:
    """Fails if AIF's exp/log/sigmoid/swish go back to kernels that round by the instruction
    set torch's or NumPy's own kernels dispatch on (on a host with AVX-512; on an AVX2-only
    host both runs take the same kernels). Not pinned: MKL's vector math, which torch's
    float64 exp and log call. On an Intel Xeon host (AVX-512) it rounds apart at AVX2
    (``MKL_ENABLE_INSTRUCTIONS=AVX2``, so ``mkl_avx2`` and ``host_avx2`` change these
    digests there); on the AMD EPYC host MKL took the same path either way (README,
    "Determinism across hosts")."""
    assert digests("native")["ours"] == digests(profile)["ours"]


def test_profile_env_sets_the_profile_and_drops_every_other_knob(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Nehalem")
    assert not set(kd.KNOBS) & set(kd.profile_env("native"))
    env = kd.profile_env("torch_avx2")
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and "OPENBLAS_CORETYPE" not in env


def test_compare_finds_the_first_diverging_episode() -> None:
    probe = {"torch_capability": "AVX2", "torch_digest": "a", "numpy_digest": "b"}
    native = {**probe, "train": [1.0, 2.0, 3.0, 4.0], "eval": [5.0, 7.0]}
    same = kd.compare(native, native)
    assert same["first_diverging_train_episode"] is None and same["eval_identical"]
    other = {**probe, "numpy_digest": "c", "train": [1.0, 2.0, 3.5, 4.0], "eval": [5.0, 8.0]}
    row = kd.compare(native, other)
    assert row["first_diverging_train_episode"] == 2 and row["train_episodes_differing"] == 1
    assert row["numpy_kernels_differ"] and not row["torch_kernels_differ"]
    assert row["eval_mean_diff_vs_native"] == pytest.approx(0.5) and not row["eval_identical"]


def test_a_run_writes_one_row_per_profile_and_a_rerun_resumes(tmp_path: Path) -> None:
    """round_robin through the real harness: the simulator and a heuristic are bit-exact
    under every kernel profile."""
    args = ["--agents", "round_robin", "--episodes", "1", "--eval-episodes", "2",
            "--profiles", "native", "host_avx2", "--work-dir", str(tmp_path / "work"),
            "--out", str(tmp_path / "drift.csv")]  # fmt: skip
    assert kd.main(args) == 0
    frame = pd.read_csv(tmp_path / "drift.csv")
    assert frame["profile"].tolist() == ["native", "host_avx2"]
    assert frame["first_diverging_train_episode"].isna().all()
    assert frame["eval_identical"].all() and np.isfinite(frame["eval_mean_sum_reward"]).all()
    metrics = sorted((tmp_path / "work").rglob("metrics.csv"))
    stamps = [p.stat().st_mtime_ns for p in metrics]
    assert kd.main(args) == 0  # resumed: the harness keeps the finished runs
    assert [p.stat().st_mtime_ns for p in metrics] == stamps


def test_runs_of_another_key_in_the_work_dir_are_replaced_not_refused(tmp_path: Path) -> None:
    args = ["--agents", "round_robin", "--episodes", "1", "--profiles", "native",
            "--work-dir", str(tmp_path / "work"), "--out", str(tmp_path / "drift.csv")]  # fmt: skip
    assert kd.main([*args, "--eval-episodes", "2"]) == 0
    assert kd.main([*args, "--eval-episodes", "3"]) == 0  # the evaluation run's key changed
    (metrics,) = (tmp_path / "work").rglob("tmax/round_robin/seed=0/metrics.csv")
    assert len(pd.read_csv(metrics)) == 3


def test_bad_arguments_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:  # fmt: skip
    with pytest.raises(SystemExit):
        kd.main(["--episodes", "0", "--work-dir", str(tmp_path)])
    assert "--episodes must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kd.main(["--envs", "nowhere", "--work-dir", str(tmp_path)])
    assert "--envs: unknown ['nowhere']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kd.main(["--agents", "nobody", "--work-dir", str(tmp_path)])
    assert "--agents: unknown ['nobody']" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

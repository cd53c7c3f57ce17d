"""Generate the shipped GPT-J-6B FP16 compute profiles in ``cloudedge/data/profiles``.

Every number in the CSVs is computed here from the published anchor measurements below; the CSVs
are never edited by hand. Run from the repository root::

    .venv/bin/python scripts/make_profiles.py            # rewrites cloudedge/data/profiles/*.csv
    .venv/bin/python scripts/make_profiles.py --out-dir /tmp/profiles

Model (one request, batch size 1)::

    compute_time_s = (prompt_tokens * prefill_s_per_token
                      + completion_tokens * decode_s_per_token) / compute_share

``compute_share`` is read as a fraction of the device's throughput (a device slice, e.g. MIG or
time-sharing), so time scales as ``1 / share``. No fixed per-request overhead term: each anchor
set is fitted by least squares through the origin, and the fit residuals are written into the
CSV header.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from cloudedge.profiles import ComputeProfile, profiles_dir  # noqa: E402

SHARES: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75, 1.0)
PROMPT_TOKENS: tuple[int, ...] = (16, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
COMPLETION_TOKENS: tuple[int, ...] = (1, 8, 32, 128, 512, 2048)

# --------------------------------------------------------------------------- anchors
# A100, TensorRT-LLM: "Performance of TensorRT-LLM", docs/source/performance.md, section
# "Low Latency", table "A100 GPUs (FP16)" (data from TensorRT-LLM v0.5), GPT-J 6B, batch 1, TP 1:
# 1st token latency 12 ms at input length 128 and 129 ms at input length 2048.
TRTLLM_URL = "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md"
A100_TTFT_ANCHORS: tuple[tuple[int, float], ...] = ((128, 0.012), (2048, 0.129))
# Decode rate at batch 1: not in that table. Figure as quoted in the project's issue 7;
# NOT verified against a primary source.
A100_DECODE_TOKENS_PER_S = 111.0

# RTX 4090, PyTorch FP16 (Hugging Face transformers model): ENOT-AutoDL model card of
# "ENOT-AutoDL/gpt-j-6B-tensorrt-int8", "Latency" table, column "torch FP16 ms" (RTX 4090,
# i7-11700K, pytorch 1.13.1+cu116). Rows: (input tokens, generated tokens, total latency s).
ENOT_URL = "https://huggingface.co/ENOT-AutoDL/gpt-j-6B-tensorrt-int8"
RTX4090_HF_ANCHORS: tuple[tuple[int, int, float], ...] = (
    (64, 64, 1.610),
    (64, 128, 3.224),
    (64, 256, 6.479),
    (128, 64, 1.619),
    (128, 128, 3.241),
    (128, 256, 6.510),
    (256, 64, 1.640),
    (256, 128, 3.276),
    (256, 256, 6.571),
)

# RTX 3090 from RTX 4090. Memory bandwidth (decode at batch 1 reads all weights per token, so it
# is memory-bound): 936.2 GB/s vs 1008 GB/s. Peak FP16 throughput (prefill of many tokens is
# compute-bound): 35.58 TFLOPS vs 82.58 TFLOPS. Both from the spec listing below (vendor figures
# as compiled by a third party; not re-checked against NVIDIA's whitepapers here).
SPEC_URL = "https://cuttingedgegamer.com/2022/12/ (RTX 3090 vs RTX 4090 spec comparison)"
RTX3090_BANDWIDTH_GB_S = 936.2
RTX4090_BANDWIDTH_GB_S = 1008.0
RTX3090_FP16_TFLOPS = 35.58
RTX4090_FP16_TFLOPS = 82.58


@dataclass(frozen=True)
class LinearModel:
    """Batch-1 inference time model: ``prompt * prefill_s_per_token + completion * decode``.

    :param prefill_s_per_token: seconds per prompt token at share 1.0.
    :param decode_s_per_token: seconds per generated token at share 1.0.
    """

    prefill_s_per_token: float
    decode_s_per_token: float

    def time_s(self, compute_share: float, prompt_tokens: float, completion_tokens: float) -> float:
        """Model time in seconds; the share divides throughput, so time scales as 1/share."""
        work_s = (
            prompt_tokens * self.prefill_s_per_token + completion_tokens * self.decode_s_per_token
        )
        return work_s / compute_share


def fit_a100() -> tuple[LinearModel, list[str]]:
    """A100: decode from the quoted rate; prefill fitted to the two published TTFT anchors.

    TTFT is the prefill plus the first generated token, so ``TTFT(P) = P * prefill + decode``;
    ``prefill`` is the least-squares slope through the origin of ``TTFT - decode`` over ``P``.
    """
    decode = 1.0 / A100_DECODE_TOKENS_PER_S
    prompts = np.array([p for p, _ in A100_TTFT_ANCHORS], dtype=np.float64)
    ttft = np.array([t for _, t in A100_TTFT_ANCHORS], dtype=np.float64)
    prefill = float(prompts @ (ttft - decode) / (prompts @ prompts))
    model = LinearModel(prefill, decode)
    checks = [
        f"  TTFT at {int(p)} prompt tokens: model {model.time_s(1.0, p, 1) * 1e3:.1f} ms, "
        f"published {t * 1e3:.0f} ms"
        for p, t in zip(prompts, ttft, strict=True)
    ]
    return model, checks


def fit_rtx4090() -> tuple[LinearModel, list[str]]:
    """RTX 4090: least squares through the origin over the nine published (P, C, time) points."""
    data = np.array(RTX4090_HF_ANCHORS, dtype=np.float64)
    design = data[:, :2]
    (prefill, decode), *_ = np.linalg.lstsq(design, data[:, 2], rcond=None)
    model = LinearModel(float(prefill), float(decode))
    errors = [(model.time_s(1.0, p, c) - t) / t for p, c, t in RTX4090_HF_ANCHORS]
    worst = max(errors, key=abs)
    checks = [
        f"  fit over the 9 published points: worst relative error {worst * 100:+.1f} %",
        f"  64 in / 128 out: model {model.time_s(1.0, 64, 128):.3f} s, published 3.224 s "
        f"({128 / 3.224:.1f} tokens/s)",
    ]
    return model, checks


def derive_rtx3090(rtx4090: LinearModel) -> tuple[LinearModel, list[str]]:
    """RTX 3090 from the RTX 4090 model: decode by bandwidth ratio, prefill by FP16 FLOPS ratio."""
    bandwidth_ratio = RTX4090_BANDWIDTH_GB_S / RTX3090_BANDWIDTH_GB_S
    flops_ratio = RTX4090_FP16_TFLOPS / RTX3090_FP16_TFLOPS
    model = LinearModel(
        prefill_s_per_token=rtx4090.prefill_s_per_token * flops_ratio,
        decode_s_per_token=rtx4090.decode_s_per_token * bandwidth_ratio,
    )
    checks = [
        f"  decode x {bandwidth_ratio:.4f} (= {RTX4090_BANDWIDTH_GB_S:g} / "
        f"{RTX3090_BANDWIDTH_GB_S:g} GB/s), prefill x {flops_ratio:.4f} (= "
        f"{RTX4090_FP16_TFLOPS:g} / {RTX3090_FP16_TFLOPS:g} TFLOPS FP16)",
    ]
    return model, checks


def _coefficient_lines(model: LinearModel) -> list[str]:
    return [
        f"prefill_s_per_token = {model.prefill_s_per_token:.6e} s "
        f"({1.0 / model.prefill_s_per_token:.0f} prompt tokens/s)",
        f"decode_s_per_token = {model.decode_s_per_token:.6e} s "
        f"({1.0 / model.decode_s_per_token:.1f} generated tokens/s)",
    ]


COMMON_LINES: tuple[str, ...] = (
    "model: GPT-J-6B (EleutherAI), FP16 weights, batch size 1, one request at a time",
    "formula: compute_time_s = (prompt_tokens * prefill_s_per_token"
    " + completion_tokens * decode_s_per_token) / compute_share",
    "compute_share: fraction of the device's throughput given to the request"
    " (time scales as 1/share)",
    "grid: prompt_tokens beyond 2048 exceed GPT-J's context window; those rows extend the"
    " linear model for traces with longer prompts",
    "generated by scripts/make_profiles.py from the anchors below; do not edit by hand",
)


def build_profiles() -> dict[str, tuple[LinearModel, list[str]]]:
    """Models and header lines of every shipped profile, keyed by profile name."""
    a100, a100_checks = fit_a100()
    rtx4090, rtx4090_checks = fit_rtx4090()
    rtx3090, rtx3090_checks = derive_rtx3090(rtx4090)
    a100_sources = [
        "source (prefill): NVIDIA TensorRT-LLM, 'Performance of TensorRT-LLM',"
        " Low Latency table, A100 GPUs (FP16), GPT-J 6B, batch 1, TP 1 (TensorRT-LLM v0.5):"
        " 1st token latency 12 ms at 128 input tokens, 129 ms at 2048 input tokens",
        f"  {TRTLLM_URL}",
        f"source (decode): {A100_DECODE_TOKENS_PER_S:g} tokens/s per request at batch 1, as"
        " quoted in the project's issue 7; NOT verified against a primary source (the"
        " TensorRT-LLM table above gives first-token latency only)",
        "prefill_s_per_token: least-squares slope through the origin of"
        " (TTFT - decode_s_per_token) over prompt tokens; model check:",
        *a100_checks,
    ]
    a100_lines = [
        "hardware: NVIDIA A100 (80 GB; the source does not state the memory variant)"
        " with TensorRT-LLM",
        *COMMON_LINES,
        *_coefficient_lines(a100),
        *a100_sources,
    ]
    a800_lines = [
        "hardware: NVIDIA A800 80 GB with TensorRT-LLM",
        *COMMON_LINES,
        *_coefficient_lines(a100),
        "derivation: identical to the A100 profile. The A800 80 GB (PCIe/SXM) has the same"
        " GA100 configuration as the A100 80 GB (108 SMs, same clocks, HBM2e at 1935 GB/s PCIe"
        " / 2039 GB/s SXM) and differs only in NVLink bandwidth (400 vs 600 GB/s), which"
        " single-GPU inference does not use (per NVIDIA's A100/A800 datasheets; not"
        " re-checked here)",
        *a100_sources,
    ]
    rtx4090_lines = [
        "hardware: NVIDIA GeForce RTX 4090 (24 GB) with PyTorch FP16 (Hugging Face"
        " transformers model, no TensorRT)",
        *COMMON_LINES,
        *_coefficient_lines(rtx4090),
        "source: ENOT-AutoDL, model card of ENOT-AutoDL/gpt-j-6B-tensorrt-int8, Latency table,"
        " column 'torch FP16 ms' (RTX 4090, i7-11700K, pytorch 1.13.1+cu116), 9 points with"
        " input 64/128/256 and 64/128/256 generated tokens; about 40 tokens/s at 64 in / 128 out",
        f"  {ENOT_URL}",
        "prefill_s_per_token, decode_s_per_token: least squares through the origin over the"
        " 9 points; model check:",
        *rtx4090_checks,
    ]
    rtx3090_lines = [
        "hardware: NVIDIA GeForce RTX 3090 (24 GB) with PyTorch FP16 (Hugging Face"
        " transformers model, no TensorRT)",
        *COMMON_LINES,
        *_coefficient_lines(rtx3090),
        "derivation: from the RTX 4090 profile (source: ENOT-AutoDL model card,"
        f" {ENOT_URL}). Decode at batch 1 is memory-bound (every weight is read once per"
        " generated token), so decode_s_per_token scales with the inverse memory-bandwidth"
        " ratio; prefill over many tokens is compute-bound, so prefill_s_per_token scales with"
        " the inverse peak FP16 throughput ratio:",
        *rtx3090_checks,
        f"  spec figures: {SPEC_URL}; third-party compilation of vendor specs, not re-checked",
    ]
    return {
        "gptj6b_fp16_a100": (a100, a100_lines),
        "gptj6b_fp16_a800": (a100, a800_lines),
        "gptj6b_fp16_rtx3090": (rtx3090, rtx3090_lines),
        "gptj6b_fp16_rtx4090": (rtx4090, rtx4090_lines),
    }


def make_profile(name: str, model: LinearModel, header_lines: Sequence[str]) -> ComputeProfile:
    """Evaluate ``model`` on the shipped grid.

    :param name: profile name.
    :param model: the time model.
    :param header_lines: comment lines for the CSV.
    """
    times = np.array(
        [
            [[model.time_s(s, p, c) for c in COMPLETION_TOKENS] for p in PROMPT_TOKENS]
            for s in SHARES
        ]
    )
    return ComputeProfile(
        name=name,
        shares=SHARES,
        prompt_tokens=PROMPT_TOKENS,
        completion_tokens=COMPLETION_TOKENS,
        times_s=times,
        header_lines=(f"{name}: GPT-J-6B FP16 compute-time profile", *header_lines),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write every profile CSV.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    :return: exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=profiles_dir(),
        help="output folder (default: cloudedge/data/profiles)",
    )
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (model, lines) in build_profiles().items():
        profile = make_profile(name, model, lines)
        path = out_dir / f"{name}.csv"
        profile.to_csv(path)
        check = ComputeProfile.from_csv(path)
        print(f"{path}: {check.compute_time_s(1.0, 128, 128):.4f} s at share 1, 128 in / 128 out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure a compute-time profile by timing real GPT-J generation with Hugging Face transformers.

The profiler runs greedy generation of exactly ``C`` new tokens after a prompt of ``P`` tokens
(batch 1) for every point of a grid of prompt lengths, completion lengths and compute allocations,
and writes a profile CSV that :meth:`cloudedge.profiles.ComputeProfile.from_csv` loads unchanged.

Compute allocation:

* **CPU**: the allocation is a number of torch threads ``k`` (``torch.set_num_threads(k)``),
  reported as ``compute_share = k / max_threads`` (``max_threads`` defaults to the CPUs this
  process may run on).
* **CUDA**: PyTorch offers no portable way to give one request a fraction of a GPU (MIG and MPS
  are set up outside the process), so the same command measures ``compute_share = 1.0`` only and
  ignores ``--threads``.

No weights can be downloaded here, so by default the model is a small GPT-J configuration with
random weights (``torch.manual_seed``). Timing depends on the configuration (shapes, kernels,
dtype), not on weight values, so a random model times the same as a trained one of the same
configuration. ``--model PATH`` loads real weights from a local folder instead.

Command line (wired as ``cloudedge profile``)::

    cloudedge profile --out outputs/profile_cpu.csv --prompt-tokens 16,64 \
        --completion-tokens 8,32 --threads 1,2 --repeats 3 --warmup 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cloudedge.profiles import ComputeProfile

if TYPE_CHECKING:
    from transformers import GPTJForCausalLM

__all__ = [
    "RandomGPTJSize",
    "add_arguments",
    "available_cpu_threads",
    "profile",
    "run",
]

DEFAULT_PROMPT_TOKENS: tuple[int, ...] = (16, 64)
DEFAULT_COMPLETION_TOKENS: tuple[int, ...] = (8, 32)
DEFAULT_THREADS: tuple[int, ...] = (1, 2)
_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
_MAX_REPEATS = 1000
_MAX_WARMUP = 100


@dataclass(frozen=True)
class RandomGPTJSize:
    """Configuration of the random-weight GPT-J built when no ``--model`` is given.

    The default is a small model that profiles in seconds on a CPU; GPT-J-6B itself is
    ``n_layer=28, n_embd=4096, n_head=16, rotary_dim=64, vocab_size=50400, n_positions=2048``.

    :param n_layer: transformer blocks, 1..64.
    :param n_embd: hidden size, divisible by ``n_head``.
    :param n_head: attention heads, >= 1.
    :param rotary_dim: rotary embedding dims per head, even, in [2, n_embd / n_head].
    :param vocab_size: vocabulary size, 2..1,000,000 (GPT-J: 50400).
    :param n_positions: context window in tokens, 2..65536.
    """

    n_layer: int = 2
    n_embd: int = 256
    n_head: int = 4
    rotary_dim: int = 32
    vocab_size: int = 50400
    n_positions: int = 2048

    def validate(self) -> None:
        """Raise ValueError naming the option and its allowed range for any bad field."""
        _check_int_range("n_layer", "--n-layer", self.n_layer, 1, 64)
        _check_int_range("n_head", "--n-head", self.n_head, 1, 256)
        _check_int_range("n_embd", "--n-embd", self.n_embd, self.n_head, 65536)
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd (--n-embd) must be a multiple of n_head (--n-head) = {self.n_head}, "
                f"got {self.n_embd}"
            )
        head_dim = self.n_embd // self.n_head
        _check_int_range("rotary_dim", "--rotary-dim", self.rotary_dim, 2, max(head_dim, 2))
        if self.rotary_dim % 2 or self.rotary_dim > head_dim:
            raise ValueError(
                f"rotary_dim (--rotary-dim) must be even and in [2, {head_dim}] "
                f"(n_embd / n_head), got {self.rotary_dim}"
            )
        _check_int_range("vocab_size", "--vocab-size", self.vocab_size, 2, 1_000_000)
        _check_int_range("n_positions", "--n-positions", self.n_positions, 2, 65536)


def available_cpu_threads() -> int:
    """Number of CPUs this process may run on (the denominator of the CPU compute share)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


# --------------------------------------------------------------------------- validation


def _check_int_range(name: str, option: str, value: object, low: int, high: int) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} ({option}) must be an integer in [{low}, {high}], got {value!r}")


def _check_int_list(
    name: str, option: str, values: Sequence[int], low: int, high: int
) -> tuple[int, ...]:
    items = tuple(values)
    if not items:
        raise ValueError(f"{name} ({option}) needs at least one value in [{low}, {high}]")
    for value in items:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or not low <= value <= high
        ):
            raise ValueError(
                f"{name} ({option}) values must be integers in [{low}, {high}], got {value!r}"
            )
    if len(set(items)) != len(items):
        raise ValueError(f"{name} ({option}) values must be distinct, got {list(items)}")
    return tuple(sorted(int(v) for v in items))


# --------------------------------------------------------------------------- model


def _build_model(
    model_path: Path | None,
    size: RandomGPTJSize,
    seed: int,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[GPTJForCausalLM, list[str]]:
    """Build (or load) the model; returns it with header lines describing it."""
    # Imported here: transformers takes seconds to import, and the CLI parser must stay fast.
    import transformers
    from transformers import GPTJConfig, GPTJForCausalLM

    if model_path is None:
        torch.manual_seed(seed)
        config = GPTJConfig(
            vocab_size=size.vocab_size,
            n_positions=size.n_positions,
            n_embd=size.n_embd,
            n_layer=size.n_layer,
            n_head=size.n_head,
            rotary_dim=size.rotary_dim,
            bos_token_id=0,
            eos_token_id=0,
            pad_token_id=0,
        )
        model = GPTJForCausalLM(config)
        fields = ", ".join(f"{k}={v}" for k, v in asdict(size).items())
        lines = [
            f"model: GPT-J architecture with random weights ({fields}, torch.manual_seed({seed}))",
            "note: timing depends on the configuration (shapes, kernels, dtype), not on weight"
            " values, so random weights time like trained weights of the same configuration",
        ]
    else:
        # transformers 5 renamed ``torch_dtype`` to ``dtype``.
        major = int(transformers.__version__.split(".", 1)[0])
        dtype_kwarg: dict[str, Any] = {"dtype" if major >= 5 else "torch_dtype": dtype}
        model = GPTJForCausalLM.from_pretrained(
            str(model_path), local_files_only=True, **dtype_kwarg
        )
        config = model.config
        lines = [
            f"model: GPT-J weights loaded from {model_path} (n_layer={config.n_layer},"
            f" n_embd={config.n_embd}, n_head={config.n_head}, rotary_dim={config.rotary_dim},"
            f" vocab_size={config.vocab_size}, n_positions={config.n_positions})",
        ]
    model = model.to(device=device, dtype=dtype).eval()
    n_params = sum(p.numel() for p in model.parameters())
    lines.append(f"parameters: {n_params:,}; dtype: {str(dtype).removeprefix('torch.')}")
    return model, lines


def _device_description(device: torch.device, max_threads: int) -> str:
    if device.type == "cuda":
        return f"device: cuda ({torch.cuda.get_device_name(device)})"
    cpu_name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"device: cpu ({cpu_name}; max_threads = {max_threads})"


def _time_generation(
    model: GPTJForCausalLM,
    input_ids: torch.Tensor,
    n_new_tokens: int,
    eos_token_id: int | None,
    synchronize: bool,
) -> float:
    """Wall-clock seconds of one greedy generation of exactly ``n_new_tokens`` tokens."""
    attention_mask = torch.ones_like(input_ids)
    if synchronize:
        torch.cuda.synchronize()
    start = time.perf_counter()
    output = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        max_new_tokens=n_new_tokens,
        min_new_tokens=n_new_tokens,
        do_sample=False,
        pad_token_id=eos_token_id,
        eos_token_id=eos_token_id,
    )
    if synchronize:
        torch.cuda.synchronize()
    elapsed_s = time.perf_counter() - start
    generated = output.shape[-1] - input_ids.shape[-1]
    if generated != n_new_tokens:  # min_new_tokens should make this impossible
        raise RuntimeError(f"generate produced {generated} tokens, expected {n_new_tokens}")
    return elapsed_s


# --------------------------------------------------------------------------- profiling


def profile(
    out_path: str | Path,
    *,
    device: str = "cpu",
    prompt_tokens: Sequence[int] = DEFAULT_PROMPT_TOKENS,
    completion_tokens: Sequence[int] = DEFAULT_COMPLETION_TOKENS,
    threads: Sequence[int] = DEFAULT_THREADS,
    repeats: int = 3,
    warmup: int = 1,
    model_path: str | Path | None = None,
    model_size: RandomGPTJSize | None = None,
    max_threads: int | None = None,
    dtype: str | None = None,
    seed: int = 0,
    name: str | None = None,
) -> ComputeProfile:
    """Time GPT-J greedy generation over a grid and write the profile CSV.

    :param out_path: CSV file to write (parent folders are created).
    :param device: ``"cpu"`` or ``"cuda"``.
    :param prompt_tokens: prompt lengths in tokens, each >= 1.
    :param completion_tokens: numbers of generated tokens, each >= 1; every prompt length plus
        the largest completion must fit the model's context window.
    :param threads: CPU thread counts, each in [1, max_threads]; ignored on CUDA (share 1.0).
    :param repeats: timed runs per grid point, 1..1000; the CSV holds their median.
    :param warmup: untimed runs per grid point before the timed ones, 0..100.
    :param model_path: local folder with GPT-J weights; None builds a random-weight model.
    :param model_size: configuration of the random-weight model (default :class:`RandomGPTJSize`).
    :param max_threads: denominator of the CPU share, >= max(threads); default
        :func:`available_cpu_threads`.
    :param dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"``; default float32 on CPU,
        float16 on CUDA.
    :param seed: seed of the random weights and of the random prompt token ids.
    :param name: profile name; default the output file name without extension.
    :return: the profile as written (also loadable with ``ComputeProfile.from_csv(out_path)``).
    :raises ValueError: on a bad argument; the message names the option and the allowed range.
    """
    out = Path(out_path)
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device (--device) must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device (--device) 'cuda' requested but CUDA is not available here")
    size = RandomGPTJSize() if model_size is None else model_size
    size.validate()
    cpu_threads = available_cpu_threads() if max_threads is None else max_threads
    _check_int_range("max_threads", "--max-threads", cpu_threads, 1, 4096)
    if device == "cpu":
        thread_counts = _check_int_list("threads", "--threads", threads, 1, cpu_threads)
    else:
        thread_counts = ()
    _check_int_range("repeats", "--repeats", repeats, 1, _MAX_REPEATS)
    _check_int_range("warmup", "--warmup", warmup, 0, _MAX_WARMUP)
    _check_int_range("seed", "--seed", seed, 0, 2**32 - 1)
    dtype_name = dtype or ("float16" if device == "cuda" else "float32")
    if dtype_name not in _DTYPES:
        raise ValueError(f"dtype (--dtype) must be one of {sorted(_DTYPES)}, got {dtype!r}")
    path = None if model_path is None else Path(model_path)
    if path is not None and not path.is_dir():
        raise ValueError(f"model_path (--model) must be an existing folder, got {str(path)!r}")
    # Context limit of the random model is known before building it; a loaded model is checked
    # again below once its configuration is read.
    context = size.n_positions if path is None else 1 << 30
    completions = _check_int_list(
        "completion_tokens", "--completion-tokens", completion_tokens, 1, context - 1
    )
    prompts = _check_int_list(
        "prompt_tokens", "--prompt-tokens", prompt_tokens, 1, context - max(completions)
    )

    torch_device = torch.device(device)
    torch_dtype = _DTYPES[dtype_name]
    model, model_lines = _build_model(path, size, seed, torch_device, torch_dtype)
    config = model.config
    if prompts[-1] + completions[-1] > config.n_positions:
        raise ValueError(
            f"prompt_tokens (--prompt-tokens) + completion_tokens (--completion-tokens) must be "
            f"<= the model's n_positions = {config.n_positions}, got "
            f"{prompts[-1]} + {completions[-1]}"
        )
    eos_token_id = config.eos_token_id if isinstance(config.eos_token_id, int) else None

    generator = torch.Generator().manual_seed(seed)
    prompt_ids = {
        p: torch.randint(0, config.vocab_size, (1, p), generator=generator).to(torch_device)
        for p in prompts
    }
    settings: list[tuple[float, int | None]] = (
        [(k / cpu_threads, k) for k in thread_counts] if device == "cpu" else [(1.0, None)]
    )
    times = np.empty((len(settings), len(prompts), len(completions)), dtype=np.float64)
    original_threads = torch.get_num_threads()
    try:
        with torch.inference_mode():
            for i, (_, n_threads) in enumerate(settings):
                if n_threads is not None:
                    torch.set_num_threads(n_threads)
                for j, p in enumerate(prompts):
                    for k, c in enumerate(completions):
                        for _ in range(warmup):
                            _time_generation(
                                model, prompt_ids[p], c, eos_token_id, device == "cuda"
                            )
                        samples = [
                            _time_generation(
                                model, prompt_ids[p], c, eos_token_id, device == "cuda"
                            )
                            for _ in range(repeats)
                        ]
                        times[i, j, k] = statistics.median(samples)
    finally:
        torch.set_num_threads(original_threads)

    import transformers  # already imported by _build_model; only read for the version

    share_line = (
        f"compute_share = torch threads / max_threads, max_threads = {cpu_threads};"
        f" threads measured: {', '.join(map(str, thread_counts))}"
        if device == "cpu"
        else "compute_share: 1.0 only (on CUDA the process cannot give one request a fraction"
        " of the GPU; --threads is ignored)"
    )
    profile_name = out.stem if name is None else name
    header = [
        f"{profile_name}: compute-time profile measured by cloudedge.profiling.gptj",
        f"date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        *model_lines,
        _device_description(torch_device, cpu_threads),
        share_line,
        f"versions: torch {torch.__version__}, transformers {transformers.__version__},"
        f" python {platform.python_version()}, {platform.platform()}",
        "timing: wall clock of model.generate(max_new_tokens=n, min_new_tokens=n,"
        " do_sample=False), batch 1, random prompt token ids, prefill plus all decode steps;"
        f" median of {repeats} repeat(s) after {warmup} warm-up run(s) per grid point",
    ]
    result = ComputeProfile(
        name=profile_name,
        shares=tuple(share for share, _ in settings),
        prompt_tokens=prompts,
        completion_tokens=completions,
        times_s=times,
        header_lines=tuple(header),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out)
    return result


# --------------------------------------------------------------------------- command line


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 16,64, got {text!r}"
        ) from None
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the profiler's options to ``parser`` (used by ``cloudedge profile``).

    :param parser: the (sub)command parser to extend.
    """
    defaults = RandomGPTJSize()
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="profile CSV to write (default: outputs/profile_<device>.csv)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where to time GPT-J (default: cpu)",
    )
    parser.add_argument(
        "--prompt-tokens",
        type=_int_list,
        default=DEFAULT_PROMPT_TOKENS,
        help="comma-separated prompt lengths, each >= 1 (default: 16,64)",
    )
    parser.add_argument(
        "--completion-tokens",
        type=_int_list,
        default=DEFAULT_COMPLETION_TOKENS,
        help="comma-separated numbers of generated tokens, each >= 1 (default: 8,32)",
    )
    parser.add_argument(
        "--threads",
        type=_int_list,
        default=DEFAULT_THREADS,
        help="CPU: comma-separated torch thread counts in [1, max threads] (default: 1,2);"
        " ignored on cuda",
    )
    parser.add_argument(
        "--max-threads",
        type=int,
        default=None,
        help="CPU: threads that make compute_share 1.0 (default: CPUs available to the process)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per grid point, 1..1000 (default: 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed runs per grid point, 0..100 (default: 1)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="local folder with GPT-J weights (default: random-weight model of the size below)",
    )
    parser.add_argument(
        "--dtype",
        choices=sorted(_DTYPES),
        default=None,
        help="weight and activation type (default: float32 on cpu, float16 on cuda)",
    )
    parser.add_argument("--seed", type=int, default=0, help="weights and prompt ids (default: 0)")
    size = parser.add_argument_group("random-weight model size (ignored with --model)")
    for option, what in (
        ("n_layer", "transformer blocks"),
        ("n_embd", "hidden size, divisible by --n-head"),
        ("n_head", "attention heads"),
        ("rotary_dim", "rotary embedding dimensions per head"),
        ("vocab_size", "vocabulary size"),
        ("n_positions", "context length in tokens"),
    ):
        default = getattr(defaults, option)
        size.add_argument(
            f"--{option.replace('_', '-')}",
            type=int,
            default=default,
            help=f"{what} (default: {default})",
        )


def run(args: argparse.Namespace) -> int:
    """Run the profiler with parsed arguments from :func:`add_arguments`.

    :param args: the parsed namespace.
    :return: exit status: 0 on success, 2 on a bad argument.
    """
    out = args.out if args.out is not None else Path("outputs") / f"profile_{args.device}.csv"
    size = RandomGPTJSize(
        n_layer=args.n_layer,
        n_embd=args.n_embd,
        n_head=args.n_head,
        rotary_dim=args.rotary_dim,
        vocab_size=args.vocab_size,
        n_positions=args.n_positions,
    )
    started = time.perf_counter()
    try:
        result = profile(
            out,
            device=args.device,
            prompt_tokens=args.prompt_tokens,
            completion_tokens=args.completion_tokens,
            threads=args.threads,
            repeats=args.repeats,
            warmup=args.warmup,
            model_path=args.model,
            model_size=size,
            max_threads=args.max_threads,
            dtype=args.dtype,
            seed=args.seed,
        )
    except ValueError as error:
        print(f"cloudedge profile: error: {error}", file=sys.stderr)
        return 2
    elapsed_s = time.perf_counter() - started
    print(
        f"wrote {out} ({result.times_s.size} grid points, {elapsed_s:.1f} s); "
        f"fastest {result.times_s.min():.4f} s, slowest {result.times_s.max():.4f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m cloudedge.profiling.gptj``.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m cloudedge.profiling.gptj", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

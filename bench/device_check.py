"""The GPU check, run by `bench/device_check.sh` on a machine with a CUDA device.

    python bench/device_check.py paths                      # autocast, channels_last, NCCL on CUDA
    python bench/device_check.py params --root DIR [--tiny] > params.yaml
    python bench/device_check.py summary                    # the stages' figures, one JSON line each

`paths` checks the CUDA code paths the CPU suite cannot reach: the autocast dtype and that the
recognizer's bf16 embeddings agree with fp32 ones, channels_last through the editor's generator,
and facegan.distributed's collectives (flattened per dtype) on CUDA tensors over NCCL. One GPU
makes a one-rank NCCL group, so the collectives run but do not mix ranks' values.
`params` writes the `celeba-gpu` preset with a photo folder (celeba-mini) and a training budget
that fits a few minutes (`--tiny`: a few steps of each model, a CPU rehearsal of the same
script and the preset's shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# celeba-gpu on a few thousand photos: the split and judges of celeba-mini-cpu, budgets in minutes.
OVERRIDES = {
    "split": {"by": "random", "novel_fraction": 0.3, "min_images": 8},
    "recognizer": {"epochs": 8, "checkpoint_every": 200},
    "judges": {"identity_judge": "trained", "epochs": 3, "identity_epochs": 6, "quality_epochs": 2,
               "checkpoint_every": 200},
    "editor": {"steps": 300, "heads_pretrain_steps": 50, "monitor_every": 150, "checkpoint_every": 150},
    "translator": {"steps": 300, "monitor_every": 150, "checkpoint_every": 150},
}
TINY = {  # the preset's models at its size, a few steps each: checks the script and shapes, not the models
    "data": {"workers": 2},
    "recognizer": {"epochs": 1, "num_workers": 0},
    "judges": {"epochs": 1, "identity_epochs": 1, "quality_epochs": 1},
    "editor": {"steps": 4, "heads_pretrain_steps": 2, "warmup_steps": 2, "monitor_every": 2, "checkpoint_every": 2,
               "log_every": 2},
    "translator": {"steps": 4, "monitor_every": 2, "checkpoint_every": 2, "log_every": 2},
}


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def check_precision(device: torch.device) -> dict:
    from facegan.editor.generator import Generator
    from facegan.recognition.backbone import build_backbone
    from facegan.train.device import amp_dtype, autocast

    torch.manual_seed(0)
    x = torch.rand(64, 3, 128, 128, device=device) * 2 - 1
    net = build_backbone("iresnet", 128, 512, 64).to(device).eval()
    with torch.no_grad():
        ref = net(x)
        with autocast(device):
            low = net(x.contiguous(memory_format=torch.channels_last))
    cos = torch.nn.functional.cosine_similarity(low.float(), ref).min().item()
    out = {"autocast_dtype": str(amp_dtype(device)), "recognizer_bf16_vs_fp32_rel_err": relative_error(low, ref),
           "recognizer_bf16_vs_fp32_min_cosine": cos}
    g = Generator(8, channels=64, levels=4, res_blocks=4, blur=True, yaw_prior=True, limb_falloff=0.5)
    g = g.to(device).eval()
    with torch.no_grad():
        target = torch.rand(64, 8, device=device)
        plain = g(x, target)
        last = g.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last), target)
    out["editor_channels_last_vs_contiguous_rel_err"] = relative_error(last, plain)
    assert torch.isfinite(low).all() and out["recognizer_bf16_vs_fp32_min_cosine"] > 0.99, out
    assert out["editor_channels_last_vs_contiguous_rel_err"] < 1e-2, out
    return out


def check_nccl(device: torch.device) -> dict:
    import torch.distributed as dist

    from facegan import distributed

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29512")
    dist.init_process_group("nccl", rank=0, world_size=1, device_id=torch.device("cuda", torch.cuda.current_device()))
    real_world_size = distributed.world_size
    distributed.world_size = lambda: 2  # take the multi-process branches: one rank, so sums equal inputs
    try:
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8)).to(device)
        net = net.to(memory_format=torch.channels_last)
        before = [t.clone() for t in net.state_dict().values()]
        distributed.broadcast_modules(net)
        same = all(torch.equal(a, b) for a, b in zip(before, net.state_dict().values()))
        x = torch.rand(4, 3, 16, 16, device=device).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = net(x).float().square().mean()
        loss.backward()
        grads = [p.grad.clone() for p in net.parameters()]
        distributed.average_gradients(net.parameters())
        halved = all(torch.allclose(p.grad, g / 2) for p, g in zip(net.parameters(), grads))
        means = distributed.mean_over_processes({"loss": 3.0}, device)
        distributed.barrier()
    finally:
        distributed.world_size = real_world_size
        dist.destroy_process_group()
    out = {"nccl_broadcast_keeps_weights": same, "nccl_all_reduce_averages": halved,
           "nccl_mean_over_processes": means["loss"], "nccl_version": ".".join(map(str, torch.cuda.nccl.version()))}
    assert same and halved and means["loss"] == 1.5, out
    return out


def paths() -> int:
    if not torch.cuda.is_available():
        print("device_check paths: no CUDA device", file=sys.stderr)
        return 1
    device = torch.device("cuda")
    props = torch.cuda.get_device_properties(device)
    print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": props.name,
                      "memory_gib": round(props.total_memory / 2**30, 1), "bf16": torch.cuda.is_bf16_supported()}))
    print(json.dumps(check_precision(device)))
    print(json.dumps(check_nccl(device)))
    return 0


def params(root: str, tiny: bool) -> int:
    from facegan.config import Params, load_params
    from facegan.params_file import params_text

    values = load_params(REPO / "presets/celeba-gpu.yaml").model_dump()
    for overlay in (OVERRIDES, TINY if tiny else {}, {"data": {"root": root}}):
        for section, keys in overlay.items():
            values[section].update(keys)
    sys.stdout.write(params_text(Params.model_validate(values)))
    return 0


def summary() -> int:
    reports = Path("reports")
    for name in ("recognizer", "judges", "editor", "translator", "synthesis", "recognizer_aug"):
        path = reports / f"{name}.json"
        if path.is_file():
            report = json.loads(path.read_text())
            keep = {k: v for k, v in report.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
            print(json.dumps({"stage": name} | dict(list(keep.items())[:24])))
    metrics = reports / "metrics.json"
    if not metrics.is_file():
        return 0
    lowshot = json.loads(metrics.read_text()).get("lowshot", {})
    for k in ("k1", "k5"):
        row = lowshot.get("visible", {}).get(k, {})
        arms = {arm: row[arm]["top1"]["mean"] for arm in ("real", "classical", "gan", "oracle") if arm in row}
        print(json.dumps({"lowshot_visible": k, "top1": arms} | _gains(row)))
    thermal = lowshot.get("thermal", {}).get("k1", {})
    if thermal:
        print(json.dumps({"lowshot_thermal": "k1"} | _gains(thermal)))
    return 0


def _gains(row: dict) -> dict:
    """Each gain_* of a metrics.json block as [mean, low, high]."""
    return {key: [row[key]["mean"], *row[key]["ci95"]] for key in row if key.startswith("gain_")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("paths").set_defaults(run=paths)
    p = sub.add_parser("params")
    p.add_argument("--root", required=True)
    p.add_argument("--tiny", action="store_true")
    p.set_defaults(run=lambda: params(args.root, args.tiny))
    sub.add_parser("summary").set_defaults(run=summary)
    args = parser.parse_args()
    started = time.perf_counter()
    code = args.run()
    print(f"device_check {args.command}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Golden data for the BN-Inception case of tests/test_resnet.cpp, run by hand (not by CI).

    /usr/bin/python3 tests/reference/make_bninception_golden.py   # writes tests/data/golden_bninception.safetensors

The network is written out here in torch: the layout, widths and flat parameter names of the PyTorch port the
DML literature (and the official PRISM/XBM code) loads BN-Inception weights into (Cadene's pretrainedmodels
`bninception`): every conv has a bias and is followed by BatchNorm2d and ReLU; max pools use ceil_mode=True,
the inception pool branches are AvgPool2d(3, 1, 1, ceil_mode=True, count_include_pad=True) (5b: a 3x3/1 max
pool); the block outputs are torch.cat(..., 1); the features are the global average pool (the port's 7x7 average
pool at 224^2 inputs), then the head fc (16 outputs) and F.normalize. Weights, buffers, input, loss and the
recorded quantities follow make_resnet_golden.py exactly (its closed-form values and its checks are imported),
on a [2, 3, 64, 64] input: every ceil-mode pool then rounds up (32 -> 16, 16 -> 8, 8 -> 4, 4 -> 2).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_resnet_golden as golden  # noqa: E402

# name, in, 1x1, 3x3_reduce, 3x3, double_3x3_reduce, double_3x3, pool_proj, max pool (as bninception.cpp)
BLOCKS = [
    ("3a", 192, 64, 64, 64, 64, 96, 32, False), ("3b", 256, 64, 64, 96, 64, 96, 64, False),
    ("3c", 320, 0, 128, 160, 64, 96, 0, True), ("4a", 576, 224, 64, 96, 96, 128, 128, False),
    ("4b", 576, 192, 96, 128, 96, 128, 128, False), ("4c", 576, 160, 128, 160, 128, 160, 128, False),
    ("4d", 608, 96, 128, 192, 160, 192, 128, False), ("4e", 608, 0, 128, 192, 192, 256, 0, True),
    ("5a", 1056, 352, 192, 320, 160, 224, 128, False), ("5b", 1024, 352, 192, 320, 192, 224, 128, True),
]


class BNInception(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.units = []

        def unit(name, cin, cout, k, stride=1, pad=0):
            setattr(self, name, nn.Conv2d(cin, cout, k, stride, pad))
            setattr(self, name + "_bn", nn.BatchNorm2d(cout))
            return name

        self.stem = [unit("conv1_7x7_s2", 3, 64, 7, 2, 3), unit("conv2_3x3_reduce", 64, 64, 1),
                     unit("conv2_3x3", 64, 192, 3, 1, 1)]
        self.blocks = []
        for name, cin, c1, c3r, c3, d3r, d3, proj, maxp in BLOCKS:
            p, s = "inception_" + name + "_", 2 if proj == 0 else 1
            b = {"spec": (proj, maxp)}
            if c1:
                b["1x1"] = unit(p + "1x1", cin, c1, 1)
            b["3x3"] = [unit(p + "3x3_reduce", cin, c3r, 1), unit(p + "3x3", c3r, c3, 3, s, 1)]
            b["double"] = [unit(p + "double_3x3_reduce", cin, d3r, 1), unit(p + "double_3x3_1", d3r, d3, 3, 1, 1),
                           unit(p + "double_3x3_2", d3, d3, 3, s, 1)]
            if proj:
                b["proj"] = unit(p + "pool_proj", cin, proj, 1)
            self.blocks.append(b)
        self.fc = nn.Linear(1024, head)

    def run(self, name, x):
        return F.relu(getattr(self, name + "_bn")(getattr(self, name)(x)))

    def chain(self, names, x):
        for n in names:
            x = self.run(n, x)
        return x

    def features(self, x):
        x = F.max_pool2d(self.run(self.stem[0], x), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.chain(self.stem[1:], x), 3, 2, ceil_mode=True)
        for b in self.blocks:
            proj, maxp = b["spec"]
            out = [self.run(b["1x1"], x)] if "1x1" in b else []
            out += [self.chain(b["3x3"], x), self.chain(b["double"], x)]
            if not maxp:
                pooled = F.avg_pool2d(x, 3, 1, 1, ceil_mode=True, count_include_pad=True)
            elif proj == 0:
                pooled = F.max_pool2d(x, 3, 2, ceil_mode=True)
            else:
                pooled = F.max_pool2d(x, 3, 1, 1, ceil_mode=True)
            out.append(self.run(b["proj"], pooled) if proj else pooled)
            x = torch.cat(out, 1)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def build(dtype):
    m = BNInception(golden.HEAD)
    with torch.no_grad():
        for k, (name, p) in enumerate(m.named_parameters()):
            p.copy_(torch.from_numpy(golden.param_value(name, k, tuple(p.shape))))
        j = 0
        for name, b in m.named_buffers():
            if name.endswith("num_batches_tracked"):
                continue
            b.copy_(torch.from_numpy(golden.buffer_value(name, j, tuple(b.shape))))
            j += 1
    return m.to(dtype)


def main():
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "data", "golden_bninception.safetensors")
    arch = "bninception"
    # The resnet script's run() and checks, with this network in place of torchvision's.
    golden.PHASES[arch] = ("eval", "frozen", "train")
    original_build, original_features = golden.build, golden.features
    golden.build = lambda a, dtype: build(dtype)
    golden.features = lambda m, x: m.features(x)
    try:
        ref, names = golden.run(arch, torch.float64)
        numels = [p.numel() for p in build(torch.float32).parameters()]
        f32, _ = golden.run(arch, torch.float32)
    finally:
        golden.build, golden.features = original_build, original_features
    tensors, metadata, worst, skipped = {}, {"torch": torch.__version__}, 0.0, []
    for phase in ("eval", "frozen", "train"):
        keys = [k for k in ref if k.startswith(phase + ".")]
        errs = {}
        for key in keys:
            a, b = f32[key], ref[key]
            if key.endswith("grad_norm"):
                errs[key] = ((a.double() - b).abs() / b.abs().clamp_min(1e-30)).max().item()
            elif key.endswith("grad_sub"):
                norms, e = ref[key.replace("grad_sub", "grad_norm")], 0.0
                for p in range(b.shape[0]):
                    scale = max(b[p].abs().max().item(), norms[p].item() / numels[p] ** 0.5, 1e-30)
                    e = max(e, (a[p].double() - b[p]).abs().max().item() / scale)
                errs[key] = e
            else:
                errs[key] = golden.rel(a, b)
            print(f"{arch}.{key}: torch float32 vs float64 {errs[key]:.2e}")
        if phase == "train" and max(errs.values()) > 2e-5:
            skipped.append(phase)  # ill-conditioned at this batch, as resnet50's train mode: not recorded
            continue
        for key in keys:
            worst = max(worst, errs[key])
            b = ref[key]
            tensors[f"{arch}.{key}"] = ("F64", b.numpy()) if key.endswith("grad_norm") else ("F32", b.float().numpy())
    metadata[f"{arch}.params"] = ",".join(names)
    tensors[f"{arch}.input_shape"] = ("I64", np.array(golden.BATCH, dtype=np.int64))
    if worst > 2e-5:
        sys.exit(f"refusing to write: torch float32 is {worst:.2e} from float64 (> 2e-5)")
    golden.write_safetensors(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes); worst float32-vs-float64 {worst:.2e}"
          + (f"; not recorded: {', '.join(skipped)}" if skipped else ""))


if __name__ == "__main__":
    main()

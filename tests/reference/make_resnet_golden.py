#!/usr/bin/env python3
"""Golden data for tests/test_resnet.cpp: torchvision's resnet18 and resnet50, run by hand (not by CI).

    /usr/bin/python3 tests/reference/make_resnet_golden.py     # writes tests/data/golden_resnet.safetensors

Needs only Debian's python3-torch + python3-torchvision (torch 1.13, torchvision 0.14 were used). No RNG is ported:
every weight, buffer and input value is a closed-form function of (tensor id k, element index i) that the C++ test
computes the same way, bit for bit (integer hash, then float32 arithmetic of one rounding):

    h  = mix32(i * 0x9E3779B1 + (k + 1) * 0x85EBCA77)        (uint32 wrap-around; mix32: xor-shift 16, * 0x7FEB352D,
                                                              xor-shift 15, * 0x846CA68B, xor-shift 16)
    u  = (h >> 8) * 2^-24                                    in [0, 1), exact in float32
    v  = 2u - 1                                              in [-1, 1), exact
    conv / linear weight (parameter k):  v * bound, bound = float32(sqrt(6 / fan_in))   (prism's He bound)
    batch-norm weight:                   1 + 0.25 * v
    batch-norm / linear bias:            0.1 * v
    running_mean (buffer j, k = 1000+j): 0.1 * v          running_var: 0.5 + u
    input x [2, 3, 64, 64]  (k = 5000):  v                loss weights R [2, 16] (k = 6000): v

k is the parameter's index in named_parameters() (prism's order = torchvision's), j the buffer's index in
named_buffers() without num_batches_tracked. The head is torchvision's fc with 16 outputs; the embedding is
F.normalize(fc(features)), the loss L = sum(emb * R). Up to three passes, in this order, on fresh weights:
  <net>.eval.features         [2, F]  global-pool output in eval mode (running statistics), no gradient
  <net>.frozen.grad_*         gradients of L with every batch norm in eval mode (= prism's MODEL.FREEZE_BN_STATS)
  <net>.train.features        [2, F]  global-pool output in train mode (batch statistics)
  <net>.train.grad_*          gradients of L in train mode
resnet18 records all three; resnet50 only eval and frozen. resnet50's train mode at this batch is ill-conditioned
in real arithmetic: train-mode batch norm over 2 images, with the loss on the pooled features, cancels most of the
gradient, and a relative perturbation of 1e-7 of the weights moves the float64 gradients by up to 13% and the
features by 6e-5 (measured at 2 x 64^2, 4 x 64^2 and 2 x 128^2, and with a blocky instead of a noise input), so no
float32 implementation can meet 1e-4 there — torch's own float32 run is 7e-2 from its float64 run.
For gradients (to keep the file small), per parameter p (in named_parameters() order):
  grad_norm   f64 [P]      the L2 norm of dL/dp
  grad_sub    f32 [P, 32]  dL/dp at the flat indices (j * numel) // 32, j = 0..31
The metadata "<net>.params" lists the parameter names, comma-separated, which the test checks against prism's.

Gradient subsets are compared relative to the tensor's scale: max_j |a_j - b_j| / max(max_j |b_j|, rms(dL/dp)),
rms = grad_norm / sqrt(numel), so 32 elements that happen to be small are not judged on their own magnitude.

Reference values come from a float64 run of the same computation; the script also runs float32 and prints its
largest relative error against float64 (what any float32 implementation can be expected to reach), and refuses to
write a file where that exceeds 2e-5 (a fifth of the C++ test's 1e-4 bound). Relative error of a against b:
max |a - b| / max(max |b|, 1e-30) (features); for norms |a - b| / b.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

HEAD = 16
N_SUB = 32
BATCH = (2, 3, 64, 64)


def mix32(h):
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return h


def closed_form_v(k, n):
    """v = 2u - 1 in float32 for elements 0..n-1 of tensor id k."""
    with np.errstate(over="ignore"):
        i = np.arange(n, dtype=np.uint64)
        h = (i * np.uint64(0x9E3779B1) + np.uint64((k + 1) * 0x85EBCA77)) & np.uint64(0xFFFFFFFF)
        h = mix32(h.astype(np.uint32))
    u = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)
    return (np.float32(2) * u - np.float32(1)).astype(np.float32), u


def param_value(name, k, shape):
    n = int(np.prod(shape))
    v, _ = closed_form_v(k, n)
    if name.endswith("bias"):
        out = np.float32(0.1) * v
    elif len(shape) == 1:  # batch-norm weight
        out = np.float32(1) + np.float32(0.25) * v
    else:
        fan_in = n // shape[0]
        out = v * np.float32(np.sqrt(6.0 / fan_in))
    return out.astype(np.float32).reshape(shape)


def buffer_value(name, j, shape):
    n = int(np.prod(shape))
    v, u = closed_form_v(1000 + j, n)
    out = np.float32(0.1) * v if name.endswith("running_mean") else np.float32(0.5) + u
    return out.astype(np.float32).reshape(shape)


def build(arch, dtype):
    m = getattr(torchvision.models, arch)(num_classes=HEAD)
    with torch.no_grad():
        for k, (name, p) in enumerate(m.named_parameters()):
            p.copy_(torch.from_numpy(param_value(name, k, tuple(p.shape))))
        j = 0
        for name, b in m.named_buffers():
            if name.endswith("num_batches_tracked"):
                continue
            b.copy_(torch.from_numpy(buffer_value(name, j, tuple(b.shape))))
            j += 1
    return m.to(dtype)


def features(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
    return torch.flatten(m.avgpool(x), 1)


PHASES = {"resnet18": ("eval", "frozen", "train"), "resnet50": ("eval", "frozen")}


def run(arch, dtype):
    m = build(arch, dtype)
    x = torch.from_numpy(closed_form_v(5000, int(np.prod(BATCH)))[0].reshape(BATCH)).to(dtype)
    R = torch.from_numpy(closed_form_v(6000, BATCH[0] * HEAD)[0].reshape(BATCH[0], HEAD)).to(dtype)
    out = {}
    m.eval()
    with torch.no_grad():
        out["eval.features"] = features(m, x)
    for phase, train in (("frozen", False), ("train", True)):
        if phase not in PHASES[arch]:
            continue
        m.train(train)
        m.zero_grad()
        f = features(m, x)
        loss = (F.normalize(m.fc(f)) * R).sum()
        loss.backward()
        if train:
            out["train.features"] = f.detach()
        grads = [p.grad.detach().reshape(-1) for _, p in m.named_parameters()]
        out[phase + ".grad_norm"] = torch.stack([g.double().norm() for g in grads])
        out[phase + ".grad_sub"] = torch.stack([g[[(j * g.numel()) // N_SUB for j in range(N_SUB)]] for g in grads])
    names = [n for n, _ in m.named_parameters()]
    return out, names


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / max(b.abs().max().item(), 1e-30)).item()


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


def main():
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "data", "golden_resnet.safetensors")
    tensors, metadata = {}, {"torch": torch.__version__, "torchvision": torchvision.__version__}
    worst = 0.0
    for arch in ("resnet18", "resnet50"):
        ref, names = run(arch, torch.float64)
        numels = [p.numel() for p in build(arch, torch.float32).parameters()]
        f32, _ = run(arch, torch.float32)
        for key, b in ref.items():
            a = f32[key]
            if key.endswith("grad_norm"):
                err = ((a.double() - b).abs() / b.abs().clamp_min(1e-30)).max().item()
            elif key.endswith("grad_sub"):
                norms = ref[key.replace("grad_sub", "grad_norm")]
                err = 0.0
                for p in range(b.shape[0]):
                    scale = max(b[p].abs().max().item(), norms[p].item() / numels[p] ** 0.5, 1e-30)
                    err = max(err, (a[p].double() - b[p]).abs().max().item() / scale)
            else:
                err = rel(a, b)
            worst = max(worst, err)
            print(f"{arch}.{key}: torch float32 vs float64 {err:.2e}")
            if key.endswith("grad_norm"):
                tensors[f"{arch}.{key}"] = ("F64", b.numpy().astype(np.float64))
            else:
                tensors[f"{arch}.{key}"] = ("F32", b.float().numpy())
        metadata[f"{arch}.params"] = ",".join(names)
        tensors[f"{arch}.input_shape"] = ("I64", np.array(BATCH, dtype=np.int64))
    if worst > 2e-5:
        sys.exit(f"refusing to write: torch float32 is {worst:.2e} from float64 (> 2e-5)")
    write_safetensors(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes); worst float32-vs-float64 {worst:.2e}")


if __name__ == "__main__":
    main()

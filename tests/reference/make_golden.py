#!/usr/bin/env python3
"""Golden data for tests/test_golden.cpp: the fmnist-cnn net in PyTorch, run by hand (not by CI).

    /usr/bin/python3 tests/reference/make_golden.py            # writes tests/data/golden_fmnist.bin

Needs only Debian's python3-torch (1.13 was used). What it records, for a fixed batch x (16 x 1 x 28 x 28) and fixed
weights (drawn here from a seeded torch.Generator, BN scales/shifts/running statistics randomised so that every path
carries non-trivial values):
  init.<name>               every parameter and BN buffer before training (prism's names = torch's names: the net is
                            nn.Sequential(OrderedDict) with prism's child names; num_batches_tracked is not used)
  input, loss_weights       the batch x [16,1,28,28] and R [16,64]; the loss is L = sum(emb * R)
  forward.embedding         emb = net(x) in train mode (batch statistics), first forward
  forward.<bn>.running_*    BN running statistics after that forward (momentum 0.1, unbiased variance)
  grad.<param>              dL/dparam of that first forward, for every parameter
  adam.loss                 [3] L at each of the three (forward, backward, Adam step) iterations on the same batch
  adam.<name>               every parameter and BN buffer after the 3 steps (torch.optim.Adam, L2 weight decay)
  eval.embedding            net(x) in eval mode (running statistics) after the 3 steps
  config.<key>              f64 scalars: lr, beta1, beta2, eps, weight_decay, bn_momentum, bn_eps, steps

Adam's eps is 1e-2 in this end-to-end run, not torch's default 1e-8, and lr is 1e-3: Adam's first steps are
m / (sqrt(v) + eps) ~ g / (|g| + eps), which for an element with |g| near the float32 round-off of its gradient
(here about 4e-6 after batch-norm backward) swings by up to lr; with eps = 1e-8 some of the 1e5 elements land there
in every draw, and even PyTorch float32 vs float64 then differ by 3e-4 (measured). With eps = 1e-2 the update stays
Adam-like for the typical |g| (1e-2 .. 1) and the run is well-conditioned (see the check below). The optimizers'
arithmetic at the default eps is checked separately, from identical inputs:
  optim.<case>.*            a [997] parameter, three fixed gradients grad1..3, the parameter after the three
                            steps (param3) and the optimizer state (exp_avg, exp_avg_sq / momentum_buffer), for
                            case adam (eps 1e-8, weight decay), sgd_nesterov, sgd_dampening; hyper-parameters in
                            optim.<case>.config = [lr, beta1|momentum, beta2|dampening, eps|nesterov, weight_decay]
  cosine.lr                 f64 [25]: the lr torch's CosineAnnealingLR(T_max=10, eta_min=1e-4) gives at iterations
                            0..24 from base lr 0.1 (cosine.config = [base_lr, eta_min, T_max])

Conditioning check: the same computation is repeated in float64; every recorded tensor of the float32 run must agree
with it within 1e-5 (relative error below), a tenth of the C++ test's 1e-4. This guards against a draw in which some
Adam update divides by a gradient near zero (m / (sqrt(v) + eps) amplifies round-off there), where any float32
implementation, PyTorch's included, would be ill-defined to 1e-4. The script refuses to write such a file.

Relative error of a tensor a against a reference b: max_i |a_i - b_i| / max(max_i |b_i|, 1e-30).

File format (little-endian), read by tests/test_golden.cpp:
  magic    8 bytes  b"PRISMGLD"
  version  u32      1
  count    u32      number of tensors
  then `count` records:
    name_len u32, name (UTF-8, name_len bytes)
    dtype    u32    0 = float32, 1 = int32, 2 = float64
    ndim     u32
    dims     ndim x i64
    data     prod(dims) elements of dtype, row-major
"""
import argparse
import copy
import os
import struct
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = b"PRISMGLD"
VERSION = 1
DTYPES = {torch.float32: 0, torch.int32: 1, torch.float64: 2}

BATCH, EMBED, STEPS = 16, 64, 3
CONFIG = OrderedDict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-2, weight_decay=5e-4, bn_momentum=0.1, bn_eps=1e-5,
                     steps=float(STEPS))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class L2Normalize(nn.Module):
    def forward(self, x):
        return F.normalize(x, dim=1, eps=1e-12)


def build_net():
    """fmnist-cnn exactly as src/nn/models.cpp builds it, with the same child names."""
    layers = OrderedDict()
    widths = [1, 32, 64, 128]
    for i in range(1, 4):
        layers[f"conv{i}"] = nn.Conv2d(widths[i - 1], widths[i], 3, stride=1, padding=1, bias=False)
        layers[f"bn{i}"] = nn.BatchNorm2d(widths[i], eps=CONFIG["bn_eps"], momentum=CONFIG["bn_momentum"])
        layers[f"relu{i}"] = nn.ReLU()
        if i < 3:
            layers[f"pool{i}"] = nn.MaxPool2d(2)
    layers["gap"] = GlobalAvgPool()
    layers["fc"] = nn.Linear(128, EMBED)
    layers["norm"] = L2Normalize()
    return nn.Sequential(layers)


def fixed_weights(net, gen):
    """Overwrites every parameter and buffer from `gen` (independent of torch's default init across versions)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("conv") or name == "fc.weight":
                fan_in = p[0].numel()
                bound = (6.0 / fan_in) ** 0.5
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            elif name == "fc.bias":
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * 0.1)
            elif name.endswith(".weight"):  # BN scale
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            else:  # BN shift
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * 0.2)
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_((torch.rand(b.shape, generator=gen) * 2 - 1) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def state(net):
    """Parameters and the BN running statistics, by name (num_batches_tracked is not part of prism's state)."""
    out = OrderedDict((n, p.detach().clone()) for n, p in net.named_parameters())
    for n, b in net.named_buffers():
        if not n.endswith("num_batches_tracked"):
            out[n] = b.detach().clone()
    return out


def run(net, x, R):
    """The recorded computation; returns name -> tensor (in net's dtype)."""
    rec = OrderedDict()
    for n, t in state(net).items():
        rec["init." + n] = t
    opt = torch.optim.Adam(net.parameters(), lr=CONFIG["lr"], betas=(CONFIG["beta1"], CONFIG["beta2"]),
                           eps=CONFIG["eps"], weight_decay=CONFIG["weight_decay"])
    net.train()
    losses = []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        emb = net(x)
        loss = (emb * R).sum()
        loss.backward()
        losses.append(loss.detach().clone())
        if step == 0:
            rec["forward.embedding"] = emb.detach().clone()
            for n, b in state(net).items():
                if "running" in n:
                    rec["forward." + n] = b
            for n, p in net.named_parameters():
                rec["grad." + n] = p.grad.detach().clone()
        opt.step()
    rec["adam.loss"] = torch.stack(losses).reshape(STEPS)
    for n, t in state(net).items():
        rec["adam." + n] = t
    net.eval()
    with torch.no_grad():
        rec["eval.embedding"] = net(x).detach().clone()
    return rec


def optimizer_cases(gen):
    """Three steps of each optimizer on a fixed parameter with fixed gradients (inputs identical in C++)."""
    rec = OrderedDict()
    p0 = torch.randn(997, generator=gen)
    grads = [torch.randn(997, generator=gen) * 10 ** (torch.rand(997, generator=gen) * 6 - 5) for _ in range(3)]
    cases = OrderedDict(
        adam=(torch.optim.Adam, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2),
              [1e-3, 0.9, 0.999, 1e-8, 1e-2], ["exp_avg", "exp_avg_sq"]),
        sgd_nesterov=(torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=1e-2),
                      [0.1, 0.9, 0.0, 1.0, 1e-2], ["momentum_buffer"]),
        sgd_dampening=(torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5, nesterov=False, weight_decay=1e-2),
                       [0.1, 0.9, 0.5, 0.0, 1e-2], ["momentum_buffer"]),
    )
    rec["optim.param0"] = p0.clone()
    for i, g in enumerate(grads):
        rec[f"optim.grad{i + 1}"] = g.clone()
    for case, (cls, kw, cfg, slots) in cases.items():
        p = p0.clone().requires_grad_(True)
        opt = cls([p], **kw)
        for g in grads:
            p.grad = g.clone()
            opt.step()
        rec[f"optim.{case}.config"] = torch.tensor(cfg, dtype=torch.float64)
        rec[f"optim.{case}.param3"] = p.detach().clone()
        for slot in slots:
            rec[f"optim.{case}.{slot}"] = opt.state[p][slot].clone()
    return rec


def cosine_case():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4)
    lrs = []
    for _ in range(25):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return OrderedDict([("cosine.config", torch.tensor([0.1, 1e-4, 10.0], dtype=torch.float64)),
                        ("cosine.lr", torch.tensor(lrs, dtype=torch.float64))])


def rel_err(a, b):
    a, b = a.double(), b.double()
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-30)


def write(path, tensors):
    blob = bytearray(MAGIC)
    blob += struct.pack("<II", VERSION, len(tensors))
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        nb = name.encode("utf-8")
        blob += struct.pack("<I", len(nb)) + nb
        blob += struct.pack("<II", DTYPES[t.dtype], t.dim())
        blob += struct.pack(f"<{t.dim()}q", *t.shape)
        blob += t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, path)
    return len(blob)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "data", "golden_fmnist.bin"))
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args()

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    net = build_net()
    fixed_weights(net, gen)
    x = torch.randn(BATCH, 1, 28, 28, generator=gen)
    R = torch.randn(BATCH, EMBED, generator=gen)

    net64 = copy.deepcopy(net).double()
    rec32 = run(net, x, R)
    rec64 = run(net64, x.double(), R.double())
    worst = max(rec32, key=lambda n: rel_err(rec32[n], rec64[n]))
    print(f"float32 vs float64: worst relative error {rel_err(rec32[worst], rec64[worst]):.3e} ({worst})")
    for n in rec32:
        if not n.startswith("init."):
            print(f"  {n:32s} {rel_err(rec32[n], rec64[n]):.3e}")
    bad = [n for n in rec32 if rel_err(rec32[n], rec64[n]) > 1e-5]
    if bad:
        raise SystemExit(f"ill-conditioned draw (float32 vs float64 > 1e-5 in {bad}); pick another --seed")

    out = OrderedDict()
    for k, v in CONFIG.items():
        out["config." + k] = torch.tensor([v], dtype=torch.float64)
    out["input"] = x
    out["loss_weights"] = R
    out.update(rec32)
    out.update(optimizer_cases(gen))
    out.update(cosine_case())
    size = write(os.path.abspath(args.out), out)
    print(f"wrote {os.path.abspath(args.out)}: {len(out)} tensors, {size} bytes")


if __name__ == "__main__":
    main()

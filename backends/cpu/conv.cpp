// CPU conv kernels (fast path): im2col / col2im, the element definitions of kernels/conv.hpp with the index
// arithmetic hoisted (bit-identical to the reference bodies, tests/test_parity.cpp; exact and fast modes
// share them), and the fused conv2d forward / backward that packs its GEMM operands straight from NCHW.
#include <algorithm>
#include <climits>
#include <memory>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/gemm_blocked.hpp"
#include "cpu/parallel.hpp"
#include "prism/kernels/conv.hpp"

namespace prism::cpu {

void CpuBackend::im2col(float* col, const float* in, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), ckk = s.c * s.kh * s.kw;
  parallel_each(s.n * OH, 8, [&](int64_t n_oh) {
    const int64_t n = n_oh / OH, oh = n_oh % OH;
    for (int64_t ow = 0; ow < OW; ++ow) {
      float* row = col + (n_oh * OW + ow) * ckk;
      const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
      for (int64_t c = 0; c < s.c; ++c) {
        const float* plane = in + (n * s.c + c) * s.h * s.w;
        for (int64_t ky = 0; ky < s.kh; ++ky) {
          const int64_t y = y0 + ky;
          float* dst = row + (c * s.kh + ky) * s.kw;
          if (y < 0 || y >= s.h) {
            std::fill_n(dst, s.kw, 0.0f);
            continue;
          }
          const float* src = plane + y * s.w;
          if (x0 >= 0 && x0 + s.kw <= s.w) {  // interior: no bounds to check
            for (int64_t kx = 0; kx < s.kw; ++kx) dst[kx] = src[x0 + kx];
            continue;
          }
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const int64_t x = x0 + kx;
            dst[kx] = (x < 0 || x >= s.w) ? 0.0f : src[x];
          }
        }
      }
    }
  });
}

namespace {

// One image of col2im: zero the image's gradient, then stream over its col rows (oh, ow) in order and add
// each entry into the pixel it was read from. A pixel's terms arrive in (oh, ow)-ascending order from 0: the
// order of kern::col2im_one. Reads are contiguous; writes stay inside one image's planes (cache-resident).
void col2im_image(float* image, const float* rows, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), ckk = s.c * s.kh * s.kw, HW = s.h * s.w;
  std::fill_n(image, s.c * HW, 0.0f);
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      const float* row = rows + (oh * OW + ow) * ckk;
      const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
      for (int64_t c = 0; c < s.c; ++c)
        for (int64_t ky = 0; ky < s.kh; ++ky) {
          const int64_t y = y0 + ky;
          if (y < 0 || y >= s.h) continue;
          float* dst = image + c * HW + y * s.w;
          const float* src = row + (c * s.kh + ky) * s.kw;
          if (x0 >= 0 && x0 + s.kw <= s.w) {  // interior: no bounds to check
            for (int64_t kx = 0; kx < s.kw; ++kx) dst[x0 + kx] += src[kx];
            continue;
          }
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const int64_t x = x0 + kx;
            if (x >= 0 && x < s.w) dst[x] += src[kx];
          }
        }
    }
}

// col2im_image from d rowsᵀ [CKK, P] (rows ld apart): per channel, zero the plane, then for each tap (ky, kx) in descending
// order add its whole [OH, OW] map into the shifted window of the plane, one output row at a time (strided: a
// stride-1 conv takes col2im_image_gather). A pixel receives at most one term per tap, so its terms arrive in (ky, kx)-descending =
// (oh, ow)-ascending order from 0: the order of kern::col2im_one, as in col2im_image.
void col2im_image_transposed(float* image, const float* rows_t, int64_t ld, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), HW = s.h * s.w;
  for (int64_t c = 0; c < s.c; ++c) {
    float* plane = image + c * HW;
    std::fill_n(plane, HW, 0.0f);
    for (int64_t ky = s.kh - 1; ky >= 0; --ky)
      for (int64_t kx = s.kw - 1; kx >= 0; --kx) {
        const float* map = rows_t + ((c * s.kh + ky) * s.kw + kx) * ld;
        // The ow range whose x = ow·stride − pad + kx lies inside [0, W).
        if (s.w - 1 + s.pad - kx < 0) continue;  // the tap lies right of the image for every ow
        const int64_t lo = std::max<int64_t>(0, (s.pad - kx + s.stride - 1) / s.stride);
        const int64_t hi = std::min<int64_t>(OW, (s.w - 1 + s.pad - kx) / s.stride + 1);
        if (lo >= hi) continue;
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t y = oh * s.stride - s.pad + ky;
          if (y < 0 || y >= s.h) continue;
          float* dst = plane + y * s.w + (lo * s.stride - s.pad + kx);
          const float* src = map + oh * OW;
          for (int64_t ow = lo; ow < hi; ++ow) dst[(ow - lo) * s.stride] += src[ow];
        }
      }
  }
}

// Floats of one channel plane with the zero border of a conv's padding: (H + 2·pad) × (W + 2·pad).
int64_t padded_plane_size(const Conv2dShape& s) {
  return (s.h + 2 * s.pad) * (s.w + 2 * s.pad);
}

// col2im_image_transposed of a stride-1 conv as a gather, straight into the image: input row y of channel c
// takes, for each tap (ky, kx) in descending order whose output row oh = y + pad − ky exists, the map's row oh
// shifted by pad − kx (the ISA's col2im_row): the same terms in the same order from 0, with no padded plane to
// zero, add into and copy out of.
void col2im_image_gather(float* image, const float* rows_t, int64_t ld, const Conv2dShape& s) {
  const int64_t OH = s.oh(), OW = s.ow(), HW = s.h * s.w, khw = s.kh * s.kw;
  const IsaKernels& isa = isa_kernels();
  std::vector<int64_t> off(static_cast<size_t>(khw)), shift(static_cast<size_t>(khw));
  for (int64_t y = 0; y < s.h; ++y) {
    int64_t taps = 0;  // the same for every channel: offsets from the channel's first map
    for (int64_t ky = s.kh - 1; ky >= 0; --ky) {
      const int64_t oh = y + s.pad - ky;
      if (oh < 0 || oh >= OH) continue;
      for (int64_t kx = s.kw - 1; kx >= 0; --kx, ++taps) {
        off[taps] = (ky * s.kw + kx) * ld + oh * OW;
        shift[taps] = s.pad - kx;
      }
    }
    for (int64_t c = 0; c < s.c; ++c)
      isa.col2im_row(image + c * HW + y * s.w, s.w, rows_t + c * khw * ld, off.data(), shift.data(), taps,
                     OW);
  }
}

}  // namespace

void CpuBackend::col2im(float* din, const float* col, const Conv2dShape& s) {
  const int64_t per_image = s.oh() * s.ow() * s.c * s.kh * s.kw;
  parallel_each(s.n, 1, [&](int64_t n) { col2im_image(din + n * s.c * s.h * s.w, col + n * per_image, s); });
}

// ---- the fused conv2d ---------------------------------------------------------------------------------------
// The three GEMMs of a conv with their operands packed straight from the NCHW input and gradient for the
// blocked driver (gemm_blocked.hpp), so neither the im2col matrix nor the row-major copies of out and dout are
// written. Index names: q = n·P + p, the im2col row (p = oh·OW + ow); kidx = (c·KH + ky)·KW + kx, its column.
// Every output is the same fma chain, in the same order, as the composition of Backend::conv2d_forward /
// conv2d_backward (src/core/backend_conv.cpp), so exact mode is bit-identical to it (tests: the kernel case
// table, tests/test_kernel_cases.cpp).

namespace {

struct ConvGeometry {
  const Conv2dShape& s;
  int64_t OW, P, HW, CHW, KHW;
  explicit ConvGeometry(const Conv2dShape& shape)
      : s(shape),
        OW(shape.ow()),
        P(shape.oh() * shape.ow()),
        HW(shape.h * shape.w),
        CHW(shape.c * shape.h * shape.w),
        KHW(shape.kh * shape.kw) {}
  // f(t, run, n, oh, ow) for the runs of im2col rows q0 … q0 + count − 1 that stay in one output row: rows
  // q0 + t … q0 + t + run − 1 are output pixels (n, oh, ow … ow + run − 1).
  template <class F>
  void for_each_row_run(int64_t q0, int64_t count, F&& f) const {
    int64_t n = q0 / P, p = q0 % P, oh = p / OW, ow = p % OW;
    const int64_t OH = P / OW;
    for (int64_t t = 0; t < count;) {
      const int64_t run = std::min(count - t, OW - ow);
      f(t, run, n, oh, ow);
      t += run;
      ow += run;
      if (ow == OW) {
        ow = 0;
        if (++oh == OH) oh = 0, ++n;
      }
    }
  }
};

// A stride-1 conv's input with its zero border written out: [N, C, H + 2·pad, W + 2·pad], so every window
// lies inside and an output row's windows read one contiguous run per tap. Zero where the im2col matrix
// has its padding zeros (0.0f, as there), the input's own values elsewhere: data movement only.
struct PaddedInput {
  const float* data = nullptr;  // null: not a stride-1 conv, the packers read `in` directly
  int64_t W = 0, HW = 0, CHW = 0;
  std::unique_ptr<float[]> storage;  // uninitialised: every element is written once below
  PaddedInput(const float* in, const Conv2dShape& s) {
    if (s.stride != 1) return;
    W = s.w + 2 * s.pad, HW = padded_plane_size(s), CHW = s.c * HW;
    if (s.pad == 0) {
      data = in;
      return;
    }
    storage.reset(new float[static_cast<size_t>(s.n * CHW)]);
    float* out = storage.get();
    const IsaKernels& isa = isa_kernels();
    const int64_t p = s.pad;
    parallel_each(s.n * s.c, 8, [&](int64_t plane) {
      float* o = out + plane * HW;
      std::fill_n(o, p * W, 0.0f);  // the top border rows
      for (int64_t y = 0; y < s.h; ++y) {
        float* row = o + (y + p) * W;
        std::fill_n(row, p, 0.0f);
        isa.copy_run(row + p, in + (plane * s.h + y) * s.w, s.w);
        std::fill_n(row + p + s.w, p, 0.0f);
      }
      std::fill_n(o + (p + s.h) * W, p * W, 0.0f);  // the bottom border rows
    });
    data = out;
  }
  // Where im2col column kidx = (c·KH + ky)·KW + kx reads, relative to a window's corner in this copy.
  int64_t tap_offset(int64_t kidx, const Conv2dShape& s) const {
    const int64_t khw = s.kh * s.kw;
    return (kidx / khw) * HW + ((kidx % khw) / s.kw) * W + kidx % s.kw;
  }
};

// The im2col matrix X[q, kidx] of `in`, packed with its lanes along q (forward: B(kidx, q)). A strip's lanes
// fall into runs of consecutive ow within one output row; each run reads one input row per tap. A stride-1
// conv reads the padded input, where every run is a plain copy (the ISA's pack_runs, one call per strip);
// a strided one reads `in` lane by lane, zeros where the window hangs over an edge.
struct Im2colByQ {
  ConvGeometry g;
  const float* in;
  const PaddedInput& padded;
  void pack(float* dst, int64_t q0, int64_t lanes, int64_t k0, int64_t kc, int64_t L) const {
    const Conv2dShape& s = g.s;
    if (padded.data) {
      const IsaKernels& isa = isa_kernels();
      const float* src[kMaxLanes];
      int64_t lane_of[kMaxLanes], count_of[kMaxLanes], nruns = 0;
      g.for_each_row_run(q0, lanes, [&](int64_t lane, int64_t run, int64_t n, int64_t oh, int64_t ow) {
        src[nruns] = padded.data + n * padded.CHW + oh * padded.W + ow;  // the window's corner
        lane_of[nruns] = lane, count_of[nruns++] = run;
      });
      isa.pack_runs(dst, L, lanes, src, lane_of, count_of, nruns, k0, kc, s.kw, g.KHW, padded.HW, padded.W);
      return;
    }
    struct Run {
      int64_t lane, count, n, y0, x0;  // x of lane t: x0 + t·stride + kx
    };
    Run runs[kMaxLanes];
    int64_t nruns = 0;
    g.for_each_row_run(q0, lanes, [&](int64_t lane, int64_t run, int64_t n, int64_t oh, int64_t ow) {
      runs[nruns++] = {lane, run, n, oh * s.stride - s.pad, ow * s.stride - s.pad};
    });
    int64_t c = k0 / g.KHW, ky = (k0 % g.KHW) / s.kw, kx = k0 % s.kw;
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * L;
      for (int64_t r = 0; r < nruns; ++r) {
        const Run& run = runs[r];
        float* out = d + run.lane;
        const int64_t y = run.y0 + ky;
        if (y < 0 || y >= s.h) {
          std::fill_n(out, run.count, 0.0f);
          continue;
        }
        const float* row = in + run.n * g.CHW + c * g.HW + y * s.w;
        const int64_t x0 = run.x0 + kx;
        for (int64_t t = 0; t < run.count; ++t) {
          const int64_t x = x0 + t * s.stride;
          out[t] = (x < 0 || x >= s.w) ? 0.0f : row[x];
        }
      }
      if (lanes < L) std::fill(d + lanes, d + L, 0.0f);
      if (++kx == s.kw) {
        kx = 0;
        if (++ky == s.kh) ky = 0, ++c;
      }
    }
  }
  static constexpr int64_t kMaxLanes = 32;
};

// The same matrix with its lanes along kidx (weight gradient: B(q, kidx), or Aᵀ when swapped): each depth
// step is one im2col row segment. A stride-1 conv reads the padded input: the depth steps of one output
// row are, for every lane, one contiguous run of a padded input row, interleaved into the strip by the
// ISA's register transposes. Otherwise inside the image it is a gather through per-lane offsets from the
// window's corner (the ISA's vector gather), and at the border a masked gather.
struct Im2colByK {
  ConvGeometry g;
  const float* in;
  const PaddedInput& padded;
  void pack(float* dst, int64_t kidx0, int64_t lanes, int64_t q0, int64_t qc, int64_t L) const {
    const Conv2dShape& s = g.s;
    if (padded.data) {
      pack_padded(dst, kidx0, lanes, q0, qc, L);
      return;
    }
    int32_t off[kMaxLanes];  // lane l reads corner[off[l]] = in[n, c, y0 + dy, x0 + dx]
    int32_t chan[kMaxLanes], dy[kMaxLanes], dx[kMaxLanes];
    const bool offsets_fit = g.CHW <= INT32_MAX;  // the gathers' offsets are int32
    for (int64_t l = 0; l < lanes; ++l) {
      const int64_t kidx = kidx0 + l;
      chan[l] = static_cast<int32_t>((kidx / g.KHW) * g.HW);
      dy[l] = static_cast<int32_t>((kidx % g.KHW) / s.kw);
      dx[l] = static_cast<int32_t>(kidx % s.kw);
      off[l] = static_cast<int32_t>(chan[l] + dy[l] * s.w + dx[l]);
    }
    const IsaKernels& isa = isa_kernels();
    int64_t n = q0 / g.P, p = q0 % g.P, oh = p / g.OW, ow = p % g.OW;
    for (int64_t t = 0; t < qc; ++t) {
      float* d = dst + t * L;
      const int64_t y0 = oh * s.stride - s.pad, x0 = ow * s.stride - s.pad;
      const float* image = in + n * g.CHW;
      if (!offsets_fit) {
        for (int64_t l = 0; l < lanes; ++l) {
          const int64_t y = y0 + dy[l], x = x0 + dx[l];
          d[l] = (y < 0 || y >= s.h || x < 0 || x >= s.w) ? 0.0f
                                                          : image[(kidx0 + l) / g.KHW * g.HW + y * s.w + x];
        }
      } else if (y0 >= 0 && y0 + s.kh <= s.h && x0 >= 0 && x0 + s.kw <= s.w) {
        isa.gather_f32(d, image + y0 * s.w + x0, off, lanes);
      } else {
        isa.gather_window_f32(d, image, chan, dy, dx, static_cast<int32_t>(y0), static_cast<int32_t>(x0),
                              static_cast<int32_t>(s.h), static_cast<int32_t>(s.w), lanes);
      }
      if (lanes < L) std::fill(d + lanes, d + L, 0.0f);
      if (++ow == g.OW) {
        ow = 0;
        if (++oh == s.oh()) oh = 0, ++n;
      }
    }
  }
  // Stride 1: lane l at depth step q = (n, oh, ow) reads padded[n, c_l, oh + ky_l, ow + kx_l].
  void pack_padded(float* dst, int64_t kidx0, int64_t lanes, int64_t q0, int64_t qc, int64_t L) const {
    int64_t off[kMaxLanes];
    for (int64_t l = 0; l < lanes; ++l) off[l] = padded.tap_offset(kidx0 + l, g.s);
    const IsaKernels& isa = isa_kernels();
    const float* rows[kMaxLanes];
    g.for_each_row_run(q0, qc, [&](int64_t t, int64_t run, int64_t n, int64_t oh, int64_t ow) {
      const float* corner = padded.data + n * padded.CHW + oh * padded.W + ow;
      for (int64_t l = 0; l < lanes; ++l) rows[l] = corner + off[l];
      isa.rows_to_lanes(dst + t * L, L, rows, lanes, run);
    });
    if (lanes < L)
      for (int64_t t = 0; t < qc; ++t) std::fill(dst + t * L + lanes, dst + t * L + L, 0.0f);
  }
  static constexpr int64_t kMaxLanes = 32;
};

// The gradient dout [N, Co, P] as G[co, q], lanes along co (weight gradient: A(co, q), or Bᵀ when swapped).
struct GradByCo {
  ConvGeometry g;
  const float* dout;
  int64_t co;
  void pack(float* dst, int64_t co0, int64_t lanes, int64_t q0, int64_t qc, int64_t L) const {
    const IsaKernels& isa = isa_kernels();
    const float* rows[kMaxLanes];
    int64_t n = q0 / g.P, p = q0 % g.P;
    for (int64_t t = 0; t < qc;) {  // runs of q inside one image: each lane's run is contiguous there
      const int64_t count = std::min(qc - t, g.P - p);
      for (int64_t l = 0; l < lanes; ++l) rows[l] = dout + (n * co + co0 + l) * g.P + p;
      isa.rows_to_lanes(dst + t * L, L, rows, lanes, count);
      t += count;
      p = 0;
      ++n;
    }
    for (int64_t t = 0; t < qc; ++t)
      for (int64_t l = lanes; l < L; ++l) dst[t * L + l] = 0.0f;
  }
  static constexpr int64_t kMaxLanes = 32;
};

// A packer over a strided matrix (w [Co, CKK] as A(co, kidx), or wᵀ as A(kidx, co) for the input gradient).
struct StridedRows {
  blocked::MatView m;
  void pack(float* dst, int64_t r0, int64_t lanes, int64_t k0, int64_t kc, int64_t L) const {
    m.pack_rows(dst, r0, lanes, k0, kc, L);
  }
};

// The gradient of consecutive images as B(co, j) = dout[j / P, co, j % P] (input gradient, several images
// side by side): lanes along j, copied in runs that stay in one image.
struct GradByP {
  ConvGeometry g;
  const float* dout;  // the first image of the group
  int64_t co;
  void pack(float* dst, int64_t j0, int64_t lanes, int64_t co0, int64_t kc, int64_t L) const {
    const IsaKernels& isa = isa_kernels();
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * L;
      for (int64_t j = 0; j < lanes;) {
        const int64_t n = (j0 + j) / g.P, p = (j0 + j) % g.P, count = std::min(lanes - j, g.P - p);
        isa.copy_run(d + j, dout + (n * co + co0 + k) * g.P + p, count);
        j += count;
      }
      if (lanes < L) std::fill(d + lanes, d + L, 0.0f);
    }
  }
};

template <class PackA, class PackB>
struct ConvProblem {
  PackA a;
  PackB b;
  void pack_a(float* dst, int64_t i0, int64_t rows, int64_t k0, int64_t kc, int64_t MR) const {
    a.pack(dst, i0, rows, k0, kc, MR);
  }
  void pack_b(float* dst, int64_t j0, int64_t cols, int64_t k0, int64_t kc, int64_t NR) const {
    b.pack(dst, j0, cols, k0, kc, NR);
  }
};
template <class PackA, class PackB>
ConvProblem<PackA, PackB> conv_problem(PackA a, PackB b) {
  return {a, b};
}

// C[co, q] stored as out[n, co, p] (NCHW): a tile is one strided block when its columns stay in one image.
struct NchwOut {
  float* out;
  int64_t co, P, nr;
  float* tile(int64_t i0, int64_t j0, int64_t& ld) const {
    const int64_t n = j0 / P, p = j0 % P;
    if (p + nr > P) return nullptr;
    ld = P;
    return out + (n * co + i0) * P + p;
  }
  // f(j, count, offset): columns j.. j+count of the tile lie in one image, C(i0 + i, j0 + j) at
  // out[offset + i·P] onwards.
  template <class F>
  void segments(int64_t i0, int64_t j0, int64_t cols, F&& f) const {
    int64_t n = j0 / P, p = j0 % P;
    for (int64_t j = 0; j < cols;) {
      const int64_t count = std::min(cols - j, P - p);
      f(j, count, (n * co + i0) * P + p);
      j += count;
      p = 0;
      ++n;
    }
  }
  void load(float* edge, int64_t i0, int64_t j0, int64_t rows, int64_t cols, int64_t NR) const {
    segments(i0, j0, cols, [&](int64_t j, int64_t count, int64_t offset) {
      for (int64_t i = 0; i < rows; ++i) std::copy_n(out + offset + i * P, count, edge + i * NR + j);
    });
  }
  void store(const float* edge, int64_t i0, int64_t j0, int64_t rows, int64_t cols, int64_t NR) const {
    segments(i0, j0, cols, [&](int64_t j, int64_t count, int64_t offset) {
      for (int64_t i = 0; i < rows; ++i) std::copy_n(edge + i * NR + j, count, out + offset + i * P);
    });
  }
  float& at(int64_t i, int64_t j) const { return out[((j / P) * co + i) * P + j % P]; }
};

// The few-tap paths (a first layer's shape) that skip the GEMM. kDirectMaxTaps: the K of conv_direct_row's
// chains (the forward's C·KH·KW; the input gradient's Co). kWgradMaxTaps: the C·KH·KW rows a GEMM would fill
// its 8-row strips with only half-way or less (the weight and input gradients), and what wgrad_taps keeps in
// registers (K × 32 accumulators).
constexpr int64_t kDirectMaxTaps = 32;
constexpr int64_t kWgradMaxTaps = 16;

// dw[co, kidx] of a stride-1 conv with at most kWgradMaxTaps taps, without the GEMM (whose K ≤ 16 rows would
// fill its micro-tile's 8-row strips half empty): each kReduceChunk chunk of depth steps q gets its part from
// the ISA's wgrad_taps (dout transposed to 32 lanes along Co, the input read from its zero-bordered copy),
// chunks in parallel; then the parts are added in chunk order. That is the chunked chain of the GEMM
// (kern::gemm_one, GemmOrder::chunked): part = fma chain from 0 over the chunk, total = part, then total + part.
// With db, the same pass also sums dout per channel (one more row of parts): chunks of the same (n, p) axis, each
// from 0, in step order, then in chunk order — kern::chunked_reduce_mid, which defines reduce_mid (the bias
// gradient of the composition).
void wgrad_few_taps(float* dw, float* db, const float* dout, const PaddedInput& padded, const ConvGeometry& g,
                    int64_t co) {
  const Conv2dShape& s = g.s;
  constexpr int64_t L = 32, chunk = kern::kReduceChunk;
  const int64_t ckk = s.c * g.KHW, R = s.n * g.P, chunks = (R + chunk - 1) / chunk;
  const int64_t rows = ckk + (db ? 1 : 0);  // part rows per chunk: the taps, then Σ dout
  int64_t koff[kWgradMaxTaps];
  for (int64_t k = 0; k < ckk; ++k) koff[k] = padded.tap_offset(k, s);
  // Scratch kept per thread across calls (every element is written before it is read): a fresh vector per call
  // and per chunk cost a zero fill and, for the parts, page faults, each step.
  thread_local std::vector<float> parts_scratch;  // this (the calling) thread's; the tasks get its pointer
  parts_scratch.resize(static_cast<size_t>(chunks * rows * L));
  float* const parts = parts_scratch.data();
  const IsaKernels& isa = isa_kernels();
  for (int64_t co0 = 0; co0 < co; co0 += L) {
    const int64_t lanes = std::min(L, co - co0);
    parallel_each(chunks, 4, [&](int64_t c) {
      thread_local std::vector<float> gt(static_cast<size_t>(chunk * L));
      const int64_t q0 = c * chunk, qc = std::min(chunk, R - q0);
      GradByCo{g, dout, co}.pack(gt.data(), co0, lanes, q0, qc, L);
      const float* corner[chunk];  // runs of steps inside one output row: the window corner moves by one
      int64_t count[chunk], nruns = 0;
      g.for_each_row_run(q0, qc, [&](int64_t, int64_t run, int64_t n, int64_t oh, int64_t ow) {
        corner[nruns] = padded.data + n * padded.CHW + oh * padded.W + ow;
        count[nruns++] = run;
      });
      isa.wgrad_taps(parts + c * rows * L, gt.data(), corner, count, nruns, koff, ckk, db != nullptr);
    });
    // Each output's parts in chunk order; the chunk loop outside, so the rows·32 additions of one chunk are
    // independent and vectorise (one chain per output would wait on the add latency at every chunk).
    for (int64_t c = 1; c < chunks; ++c)
      for (int64_t i = 0; i < rows * L; ++i) parts[i] = parts[i] + parts[c * rows * L + i];
    for (int64_t k = 0; k < ckk; ++k)
      for (int64_t l = 0; l < lanes; ++l) dw[(co0 + l) * ckk + k] = parts[k * L + l];
    if (db)
      for (int64_t l = 0; l < lanes; ++l) db[co0 + l] = parts[ckk * L + l];
  }
}

}  // namespace

// out[co, q] = chain over kidx of w[co, kidx] · X[q, kidx]: M = Co, N = N·P, K = C·KH·KW, in the chain order of
// the composition, then + bias[co]. A stride-1 conv with at most kDirectMaxTaps taps skips the GEMM (whose
// packing would cost more than its K fmas per output) and runs the same chains directly on the padded input,
// adding the bias in registers. Fast mode uses it
// too: it is the faster blocking here (one k panel up to 768), and fast mode may take any order.
void CpuBackend::conv2d_forward(float* out, const float* in, const float* w, const float* bias,
                                const Conv2dShape& s, int64_t co) {
  const ConvGeometry g(s);
  const int64_t ckk = s.c * g.KHW, R = s.n * g.P;
  const PaddedInput padded(in, s);
  if (padded.data && ckk <= kDirectMaxTaps) {  // few taps (conv1 of a 1-channel net): direct, row by row
    int64_t koff[kDirectMaxTaps];
    for (int64_t k = 0; k < ckk; ++k) koff[k] = padded.tap_offset(k, s);
    const IsaKernels& isa = isa_kernels();
    const int64_t OH = s.oh();
    parallel_each(s.n * OH, 4, [&](int64_t row) {
      const int64_t n = row / OH, oh = row % OH;
      isa.conv_direct_row(out + n * co * g.P + oh * g.OW, g.P, w, bias, co, ckk,
                          padded.data + n * padded.CHW + oh * padded.W, koff, g.OW);
    });
    return;
  }
  blocked::gemm_run(conv_problem(StridedRows{{w, ckk, 1}}, Im2colByQ{g, in, padded}),
                    NchwOut{out, co, g.P, isa_kernels().nr}, co, R, ckk, GemmOrder::chain, num_threads());
  if (bias) broadcast_binary(BinaryOp::add, out, out, bias, s.n, co, g.P);
}

// dw[co, kidx] = Σ over q (chunked) of G[co, q] · X[q, kidx] (or its transpose, when that pads less); db in the
// few-tap weight gradient's pass, else reduce_mid; dx per image: d rows [P, CKK] = G_nᵀ · w (chunked over Co),
// then col2im of that image.
void CpuBackend::conv2d_backward(float* dx, float* dw, float* db, const float* dout, const float* in,
                                 const float* w, const Conv2dShape& s, int64_t co) {
  const ConvGeometry g(s);
  const int64_t ckk = s.c * g.KHW, R = s.n * g.P;
  const int threads = num_threads();
  if (dw) {
    const PaddedInput padded(in, s);
    if (padded.data && ckk <= kWgradMaxTaps) {
      wgrad_few_taps(dw, db, dout, padded, g, co);
      db = nullptr;  // reduced in the same pass
    } else if (blocked::swap_pays(co, ckk)) {
      std::vector<float> t(static_cast<size_t>(co * ckk));
      blocked::gemm_run(conv_problem(Im2colByK{g, in, padded}, GradByCo{g, dout, co}),
                        blocked::DenseOut{t.data(), co}, ckk, co, R, GemmOrder::chunked, threads);
      for (int64_t i = 0; i < co; ++i)
        for (int64_t j = 0; j < ckk; ++j) dw[i * ckk + j] = t[j * co + i];
    } else {
      blocked::gemm_run(conv_problem(GradByCo{g, dout, co}, Im2colByK{g, in, padded}),
                        blocked::DenseOut{dw, ckk}, co, ckk, R, GemmOrder::chunked, threads);
    }
  }
  if (db) reduce_mid(db, dout, s.n, co, g.P);
  if (dx && s.stride == 1 && co <= kDirectMaxTaps && ckk <= kWgradMaxTaps) {
    // Few channels and taps (a first layer's shape): d rowsᵀ [CKK, P] of each image by the direct row kernel —
    // entry (kidx, p) the chain over co from 0 of w[co, kidx] · dout[co, p], which is the GEMM's (co ≤ 32: one
    // chunk) — then the gathering col2im, with no GEMM whose 8-row strips CKK rows would half fill.
    std::vector<float> wt(static_cast<size_t>(ckk * co));
    for (int64_t c = 0; c < co; ++c)
      for (int64_t k = 0; k < ckk; ++k) wt[static_cast<size_t>(k * co + c)] = w[c * ckk + k];
    int64_t koff[kDirectMaxTaps];
    for (int64_t c = 0; c < co; ++c) koff[c] = c * g.P;
    const IsaKernels& isa = isa_kernels();
    parallel_each(s.n, 1, [&](int64_t n) {
      thread_local std::vector<float> rows_t;
      rows_t.resize(static_cast<size_t>(ckk * g.P));
      // The "taps" here are whole dout planes (koff[c] = c·P), so the image is one row of P outputs.
      isa.conv_direct_row(rows_t.data(), g.P, wt.data(), nullptr, ckk, co, dout + n * co * g.P, koff, g.P);
      col2im_image_gather(dx + n * g.CHW, rows_t.data(), g.P, s);
    });
  } else if (dx) {
    // d rowsᵀ [CKK, G·P] of G images at once = wᵀ · [G_n … G_n+G−1] (each entry the chunked chain over Co of
    // the composition's d rows; several images so that small output planes still fill the micro-tile's
    // columns), with wᵀ packed once for every image; then col2im of each image from its P columns. Blocks
    // of image groups, one workspace each, one group at a time on this thread.
    constexpr int64_t kMinColumns = 128;
    const int64_t G = std::max<int64_t>(1, std::min<int64_t>(s.n, (kMinColumns + g.P - 1) / g.P));
    const int64_t groups = (s.n + G - 1) / G;
    const blocked::PackedA wt = blocked::pack_whole_a(
        conv_problem(StridedRows{{w, 1, ckk}}, GradByP{g, dout, co}), ckk, 0, co, GemmOrder::chunked);
    const int64_t blocks = std::min<int64_t>(groups, 2 * threads);
    blocked::for_each_task(blocks, threads, [&](int64_t b) {
      // Scratch kept per thread across calls: every entry is written by the GEMM before col2im reads it, and a
      // fresh zero-filled vector per call was 0.5% of a training step's cycles (perf).
      thread_local std::vector<float> rows_t;
      rows_t.resize(static_cast<size_t>(ckk * G * g.P));
      for (int64_t group = b * groups / blocks; group < (b + 1) * groups / blocks; ++group) {
        const int64_t n0 = group * G, images = std::min(G, s.n - n0), cols = images * g.P;
        blocked::gemm_packed_a(wt,
                               conv_problem(StridedRows{{w, 1, ckk}}, GradByP{g, dout + n0 * co * g.P, co}),
                               blocked::DenseOut{rows_t.data(), cols}, cols, 1);
        for (int64_t i = 0; i < images; ++i) {
          if (s.stride == 1)
            col2im_image_gather(dx + (n0 + i) * g.CHW, rows_t.data() + i * g.P, cols, s);
          else
            col2im_image_transposed(dx + (n0 + i) * g.CHW, rows_t.data() + i * g.P, cols, s);
        }
      }
    });
  }
}

}  // namespace prism::cpu

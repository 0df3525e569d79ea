// Retrieval metrics (reference code): per block of queries one GEMM against the whole gallery, then per query
// a heap selection of the top max(R, 8) gallery items by (similarity desc, index asc) and the metrics from
// their relevance. Per-query values are summed in query order in double, so threads never change a digit.
#include "prism/dml/metrics.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

struct QueryScore {
  bool scored = false;
  double p1 = 0, rp = 0, ap = 0, r1 = 0, r2 = 0, r4 = 0, r8 = 0;
};

void check_set(const Tensor& emb, const std::vector<int32_t>& labels, const char* what) {
  if (!emb.defined() || emb.dtype() != DType::f32 || emb.dim() != 2)
    throw Error(std::string("evaluate_retrieval: ") + what + " embeddings must be f32 [N, d], got " +
                emb.describe());
  if (static_cast<int64_t>(labels.size()) != emb.size(0))
    throw Error(std::string("evaluate_retrieval: ") + std::to_string(labels.size()) + " " + what +
                " labels for " + std::to_string(emb.size(0)) + " " + what + " embeddings");
}

}  // namespace

RetrievalMetrics evaluate_retrieval(const Tensor& query, const std::vector<int32_t>& query_labels,
                                    const Tensor& gallery_in, const std::vector<int32_t>& gallery_labels_in,
                                    const RetrievalOptions& opt) {
  const bool same = !gallery_in.defined();
  check_set(query, query_labels, "query");
  const Tensor gallery = same ? query : gallery_in;
  const std::vector<int32_t>& glabels = same ? query_labels : gallery_labels_in;
  if (!same) {
    check_set(gallery, glabels, "gallery");
    if (gallery.size(1) != query.size(1))
      throw Error("evaluate_retrieval: query width " + std::to_string(query.size(1)) + " != gallery width " +
                  std::to_string(gallery.size(1)));
    if (gallery.device() != query.device())
      throw Error("evaluate_retrieval: query and gallery embeddings on different devices");
  }
  const int64_t nq = query.size(0), ng = gallery.size(0);
  RetrievalMetrics out;
  if (nq == 0) return out;
  if (ng == 0) throw Error("evaluate_retrieval: the gallery is empty");

  std::unordered_map<int32_t, int64_t> class_size;
  for (int32_t l : glabels) ++class_size[l];

  NoGradGuard no_grad;
  const int64_t block = std::clamp<int64_t>(opt.block_bytes / std::max<int64_t>(1, ng * 4), 1, nq);
  std::vector<float> sim_host;
  std::vector<QueryScore> scores(nq);
  for (int64_t q0 = 0; q0 < nq; q0 += block) {
    const int64_t b = std::min(block, nq - q0);
    const Tensor sim_block = matmul(query.rows(q0, q0 + b), gallery, false, true);  // [b, ng], chain order
    const float* sim = nullptr;
    if (sim_block.device() == DeviceType::cpu) {
      sim = sim_block.data_f32();
    } else {
      sim_host = sim_block.to_vector();
      sim = sim_host.data();
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, b, 8), [&](const tbb::blocked_range<int64_t>& range) {
      std::vector<int64_t> top;  // per task
      for (int64_t t = range.begin(); t < range.end(); ++t) {
        const int64_t q = q0 + t;
        const int32_t y = query_labels[q];
        auto it = class_size.find(y);
        const int64_t R = (it == class_size.end() ? 0 : it->second) - (same ? 1 : 0);
        if (R <= 0) continue;
        const float* s = sim + t * ng;
        const int64_t avail = same ? ng - 1 : ng;
        const int64_t k = std::min<int64_t>(std::max<int64_t>(R, 8), avail);
        bool nan = false;
        for (int64_t g = 0; g < ng; ++g) nan |= s[g] != s[g];
        if (nan) throw Error("evaluate_retrieval: NaN similarity (non-finite embeddings)");
        // The k best by (similarity desc, index asc) in one pass: a heap whose top is the worst kept item.
        // Indices arrive in increasing order, so a newcomer beats the top only with a strictly larger
        // similarity.
        const auto worse = [s](int64_t a, int64_t c) { return s[a] < s[c] || (s[a] == s[c] && a > c); };
        top.clear();
        for (int64_t g = 0; g < ng; ++g) {
          if (same && g == q) continue;
          if (static_cast<int64_t>(top.size()) < k) {
            top.push_back(g);
            std::push_heap(top.begin(), top.end(), [&](int64_t a, int64_t c) { return worse(c, a); });
          } else if (s[g] > s[top.front()]) {
            std::pop_heap(top.begin(), top.end(), [&](int64_t a, int64_t c) { return worse(c, a); });
            top.back() = g;
            std::push_heap(top.begin(), top.end(), [&](int64_t a, int64_t c) { return worse(c, a); });
          }
        }
        std::sort(top.begin(), top.end(), [&](int64_t a, int64_t c) { return worse(c, a); });
        QueryScore& sc = scores[q];
        sc.scored = true;
        int64_t hits = 0;
        double ap = 0;
        bool found = false;
        for (int64_t j = 0; j < k; ++j) {
          const bool rel = glabels[top[j]] == y;
          if (rel && j < R) {
            ++hits;
            ap += static_cast<double>(hits) / static_cast<double>(j + 1);
          }
          found = found || rel;
          if (j == 0) sc.p1 = rel;
          if (j == 0) sc.r1 = found;
          if (j == 1) sc.r2 = found;
          if (j == 3) sc.r4 = found;
          if (j == 7) sc.r8 = found;
        }
        // Fewer than K candidates in the gallery: Recall@K is whether any of them is relevant.
        if (k < 2) sc.r2 = found;
        if (k < 4) sc.r4 = found;
        if (k < 8) sc.r8 = found;
        sc.rp = static_cast<double>(hits) / static_cast<double>(R);
        sc.ap = ap / static_cast<double>(R);
      }
    });
  }
  for (const QueryScore& sc : scores) {
    if (!sc.scored) {
      ++out.num_skipped_queries;
      continue;
    }
    ++out.num_queries;
    out.precision_at_1 += sc.p1;
    out.r_precision += sc.rp;
    out.map_at_r += sc.ap;
    out.recall_at_1 += sc.r1;
    out.recall_at_2 += sc.r2;
    out.recall_at_4 += sc.r4;
    out.recall_at_8 += sc.r8;
  }
  if (out.num_queries > 0) {
    const double n = static_cast<double>(out.num_queries);
    for (double* v : {&out.precision_at_1, &out.r_precision, &out.map_at_r, &out.recall_at_1,
                      &out.recall_at_2, &out.recall_at_4, &out.recall_at_8})
      *v /= n;
  }
  return out;
}

}  // namespace prism::dml

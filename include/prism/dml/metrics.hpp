// Retrieval metrics of DML evaluation (DESIGN §4.9, docs/metrics.md): Precision@1, R-Precision, MAP@R and
// Recall@{1,2,4,8}, query set against a gallery set (or against itself with each query's own entry excluded).
// Exact nearest neighbours: similarities by blocked GEMM on the embeddings' backend, a block of queries at a
// time under a memory budget (never an N×N matrix), ranking by (similarity desc, gallery index asc), no cap
// on R. Reference code.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/core/tensor.hpp"

namespace prism::dml {

struct RetrievalMetrics {
  double precision_at_1 = 0, r_precision = 0, map_at_r = 0;
  double recall_at_1 = 0, recall_at_2 = 0, recall_at_4 = 0, recall_at_8 = 0;
  int64_t num_queries = 0;          // queries scored (those with at least one relevant gallery item)
  int64_t num_skipped_queries = 0;  // queries whose class has no other gallery item: R = 0, metrics undefined
};

struct RetrievalOptions {
  int64_t block_bytes = int64_t(64) << 20;  // similarity block budget (at least one query row is always used)
};

// query [Nq, d] f32 with labels; gallery [Ng, d] f32 with labels, or undefined for query = gallery (self
// excluded). Similarity = dot product (pass L2-normalised rows for cosine). Embeddings may live on any
// device.
RetrievalMetrics evaluate_retrieval(const Tensor& query, const std::vector<int32_t>& query_labels,
                                    const Tensor& gallery = Tensor(),
                                    const std::vector<int32_t>& gallery_labels = {},
                                    const RetrievalOptions& opt = {});

}  // namespace prism::dml

// Bisecting k-means for the small-cluster noise generator: the largest cluster is split by 2-means until
// there are k clusters, so the cost is about O(n · d · iterations · log k) instead of Lloyd's O(n · d · k ·
// iterations), and classes of thousands of images stay cheap. Deterministic: Philox seeding, ties to the
// lower index, double arithmetic on one thread per call. Reference code.
#pragma once
#include <cstdint>
#include <vector>

#include "prism/core/random.hpp"

namespace prism::dml {

// Clusters the rows `rows` of features [*, dim] into min(k, rows.size()) non-empty clusters; returns the
// cluster id (0..k'−1, numbered by first row in `rows` order) of each entry of `rows`.
std::vector<int32_t> bisecting_kmeans(const float* features, int64_t dim, const std::vector<int64_t>& rows,
                                      int64_t k, int max_iterations, Rng rng);

}  // namespace prism::dml

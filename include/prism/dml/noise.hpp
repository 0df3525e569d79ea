// Label-noise generators for experiments (DESIGN §4.8): symmetric (each sample flipped with probability R to a
// uniformly drawn other class) and small-cluster (a fraction R of the classes is broken into small k-means
// clusters, each relabelled as a random clean class; the chosen classes vanish and labels are re-indexed from
// 0). Deterministic from the seed (Philox noise stream). Reference code; k-means in kmeans.hpp.
#pragma once
#include <cstdint>
#include <vector>

namespace prism::dml {

struct NoiseResult {
  std::vector<int32_t> labels;  // noisy label of every sample
  std::vector<uint8_t> noisy;   // 1 where the label is wrong
  int64_t num_noisy = 0;
  double rate = 0;          // achieved: num_noisy / N
  int64_t num_classes = 0;  // distinct labels after the noise
  // small-cluster only: the original labels of the classes that were broken up, and the number of clusters
  // made
  std::vector<int32_t> removed_classes;
  int64_t num_clusters = 0;
};

// Flips each sample with probability `rate` to a label drawn uniformly from the other labels present (the
// label values are kept as they are, e.g. starting at 1). Needs at least 2 distinct labels when rate > 0.
NoiseResult symmetric_noise(const std::vector<int32_t>& labels, double rate, uint64_t seed);

struct SmallClusterOptions {
  double rate = 0.5;  // fraction of the classes broken up: round(rate · C), at most C − 1
  uint64_t seed = 0;
  int64_t cluster_size = 2;  // images per cluster on average: k = ceil(n_class / cluster_size)
  int max_iterations = 10;   // Lloyd iterations per 2-means split
};

// features: [N, dim] row-major (pixels or any descriptor), one row per sample. Labels of the result are the
// clean classes re-indexed 0..C'−1 in increasing order of their original label.
NoiseResult small_cluster_noise(const std::vector<int32_t>& labels, const float* features, int64_t dim,
                                const SmallClusterOptions& opt);

}  // namespace prism::dml

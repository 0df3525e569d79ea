// The cross-batch memory (XBM) of PRISM: a ring buffer of (embedding, label, sample index) with capacity K,
// plus the class centers (mean memory row of each class) kept equal to the current contents. Reference code:
// embeddings live on the device as a Tensor and are written with copy_rows (core/ops.hpp); labels and sample
// indices live on the host (labels also as a device i32 copy for the loss kernels). Semantics: DESIGN §4.2;
// docs/prism.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"
#include "prism/dml/state.hpp"

namespace prism::dml {

class MemoryBank {
 public:
  // capacity K ≥ 1 rows of width dim; labels must lie in [0, num_classes).
  MemoryBank(int64_t capacity, int64_t dim, int32_t num_classes, DeviceType device = DeviceType::cpu);

  int64_t capacity() const { return capacity_; }
  int64_t dim() const { return dim_; }
  int32_t num_classes() const { return num_classes_; }
  DeviceType device() const { return device_; }
  int64_t size() const { return size_; }       // filled rows: min(K, rows ever written)
  int64_t next_slot() const { return next_; }  // where the next row goes
  bool empty() const { return size_ == 0; }

  // The filled rows in slot order, [size, dim] (slots 0..size−1; the ring fills from slot 0, so they are a
  // prefix). A view of the ring storage: a later enqueue overwrites it, so enqueue only after the backward
  // pass that used it (DESIGN §4.5's iteration order).
  Tensor embeddings() const;
  Tensor labels_device() const;                 // i32 [size], same view semantics
  std::vector<int32_t> labels() const;          // host copy, [size]
  std::vector<int64_t> sample_indices() const;  // host copy, [size]

  // Writes row i of emb [n, dim] (same device) for every i with keep[i] ≠ 0 (every row when keep is empty),
  // in increasing i, at the next slots, wrapping from K − 1 to 0. Not recorded by autograd (the rows are
  // detached). When more than K rows are kept only the last K are stored, as if written one by one. Returns
  // the rows written.
  int64_t enqueue(const Tensor& emb, const std::vector<int32_t>& labels,
                  const std::vector<int64_t>& sample_indices, const std::vector<uint8_t>& keep = {});

  // Class centers [C, dim]: w_k = mean of the memory rows of class k (not renormalised), 0 for an empty
  // class. Each class's rows are summed in increasing slot order in the canonical chunks; only the classes
  // whose rows changed since the last call are recomputed, which gives the same bits as a full recompute.
  const Tensor& centers();
  Tensor centers_recomputed() const;  // every class from scratch (reference for the tests)
  const std::vector<int64_t>& class_counts() const { return counts_; }  // rows per class
  int64_t classes_refreshed_last() const {
    return refreshed_last_;
  }  // how many the last centers() recomputed

  // The slots of every class, grouped by class and increasing within a class (offsets has C + 1 entries):
  // the order the center and the full-memory average sum in.
  void class_order(std::vector<int32_t>& order, std::vector<int32_t>& offsets) const;

  void clear();
  // "<prefix>embeddings" f32 [K, dim], "<prefix>labels" i32 [K] (−1 = empty), "<prefix>sample_indices" i32
  // [K], integers "<prefix>size", "<prefix>next", "<prefix>capacity", "<prefix>dim", "<prefix>num_classes".
  void save_state(StateDict& state, const std::string& prefix = "memory.") const;
  void load_state(const StateDict& state, const std::string& prefix = "memory.");

 private:
  void set_slot_label(int64_t slot, int32_t label);
  // Means of the given classes (increasing), [classes.size(), dim].
  Tensor class_means(const std::vector<int32_t>& classes) const;
  void upload_labels();  // labels_ → labels_dev_

  int64_t capacity_, dim_;
  int32_t num_classes_;
  DeviceType device_;
  int64_t size_ = 0, next_ = 0;
  Tensor ring_;                                // f32 [K, dim]
  Tensor labels_dev_;                          // i32 [K], −1 where empty
  std::vector<int32_t> labels_;                // [K], −1 where empty
  std::vector<int64_t> samples_;               // [K], −1 where empty
  std::vector<std::vector<int32_t>> members_;  // per class: its slots, increasing
  std::vector<int64_t> counts_;
  std::vector<uint8_t> dirty_;  // per class: rows changed since the last centers()
  Tensor centers_;              // f32 [C, dim]
  int64_t refreshed_last_ = 0;
};

}  // namespace prism::dml

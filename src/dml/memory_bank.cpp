// The memory bank: ring writes through the core copy_rows, per-class slot lists kept sorted, and lazy
// class-center refresh of only the classes whose rows changed (segment_mean_rows over those classes, then
// copy_rows into the centers). Reference code; no backend pointer is handled here.
#include "prism/dml/memory_bank.hpp"

#include <algorithm>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

namespace prism::dml {

namespace {

std::string where(const char* fn) {
  return std::string("MemoryBank::") + fn + ": ";
}

}  // namespace

MemoryBank::MemoryBank(int64_t capacity, int64_t dim, int32_t num_classes, DeviceType device)
    : capacity_(capacity), dim_(dim), num_classes_(num_classes), device_(device) {
  if (capacity < 1 || capacity > INT32_MAX)
    throw Error(where("MemoryBank") + "capacity must be in [1, 2^31), got " + std::to_string(capacity));
  if (dim < 1) throw Error(where("MemoryBank") + "dim must be >= 1, got " + std::to_string(dim));
  if (num_classes < 1)
    throw Error(where("MemoryBank") + "num_classes must be >= 1, got " + std::to_string(num_classes));
  ring_ = Tensor::zeros({capacity, dim}, DType::f32, device);
  labels_dev_ = Tensor::empty({capacity}, DType::i32, device);
  centers_ = Tensor::zeros({num_classes, dim}, DType::f32, device);
  clear();
}

void MemoryBank::clear() {
  size_ = next_ = 0;
  labels_.assign(capacity_, -1);
  samples_.assign(capacity_, -1);
  labels_dev_.fill(-1.0f);
  members_.assign(num_classes_, {});
  counts_.assign(num_classes_, 0);
  dirty_.assign(num_classes_, 0);
  centers_.fill(0.0f);
  refreshed_last_ = 0;
}

Tensor MemoryBank::embeddings() const {
  return ring_.rows(0, size_);
}
Tensor MemoryBank::labels_device() const {
  return labels_dev_.rows(0, size_);
}
std::vector<int32_t> MemoryBank::labels() const {
  return {labels_.begin(), labels_.begin() + size_};
}
std::vector<int64_t> MemoryBank::sample_indices() const {
  return {samples_.begin(), samples_.begin() + size_};
}

void MemoryBank::set_slot_label(int64_t slot, int32_t label) {
  const int32_t old = labels_[slot];
  const int32_t s = static_cast<int32_t>(slot);
  if (old >= 0) {
    auto& m = members_[old];
    m.erase(std::lower_bound(m.begin(), m.end(), s));
    --counts_[old];
  }
  // The row's values change even when its class does not, so the class is dirty either way.
  if (old >= 0) dirty_[old] = 1;
  auto& m = members_[label];
  m.insert(std::lower_bound(m.begin(), m.end(), s), s);
  ++counts_[label];
  dirty_[label] = 1;
  labels_[slot] = label;
}

int64_t MemoryBank::enqueue(const Tensor& emb, const std::vector<int32_t>& labels,
                            const std::vector<int64_t>& sample_indices, const std::vector<uint8_t>& keep) {
  if (!emb.defined() || emb.dtype() != DType::f32 || emb.dim() != 2 || emb.size(1) != dim_)
    throw Error(where("enqueue") + "embeddings must be f32 [n, " + std::to_string(dim_) + "], got " +
                emb.describe());
  if (emb.device() != device_)
    throw Error(where("enqueue") + "embeddings on " + device_name(emb.device()) + ", memory on " +
                device_name(device_));
  const int64_t n = emb.size(0);
  if (static_cast<int64_t>(labels.size()) != n)
    throw Error(where("enqueue") + std::to_string(labels.size()) + " labels for " + std::to_string(n) +
                " rows");
  if (!sample_indices.empty() && static_cast<int64_t>(sample_indices.size()) != n)
    throw Error(where("enqueue") + std::to_string(sample_indices.size()) + " sample indices for " +
                std::to_string(n) + " rows");
  if (!keep.empty() && static_cast<int64_t>(keep.size()) != n)
    throw Error(where("enqueue") + "keep mask has " + std::to_string(keep.size()) + " entries for " +
                std::to_string(n) + " rows");
  std::vector<int32_t> src;
  for (int64_t i = 0; i < n; ++i) {
    if (!keep.empty() && !keep[i]) continue;
    if (labels[i] < 0 || labels[i] >= num_classes_)
      throw Error(where("enqueue") + "label " + std::to_string(labels[i]) + " of row " + std::to_string(i) +
                  " is outside [0, " + std::to_string(num_classes_) + ")");
    src.push_back(static_cast<int32_t>(i));
  }
  const int64_t total = static_cast<int64_t>(src.size());
  if (total == 0) return 0;
  // Rows beyond the last K would be overwritten within this call: skip them, keeping every slot written once.
  const int64_t skip = total > capacity_ ? total - capacity_ : 0;
  const int64_t start = (next_ + skip) % capacity_;
  std::vector<int32_t> src_rows(src.begin() + skip, src.end()), dst_rows(src_rows.size());
  for (size_t t = 0; t < src_rows.size(); ++t) {
    const int64_t slot = (start + static_cast<int64_t>(t)) % capacity_;
    dst_rows[t] = static_cast<int32_t>(slot);
    set_slot_label(slot, labels[src_rows[t]]);
    samples_[slot] = sample_indices.empty() ? -1 : sample_indices[src_rows[t]];
  }
  NoGradGuard no_grad;
  copy_rows(ring_, dst_rows, emb.detach(), src_rows);
  upload_labels();
  next_ = (next_ + total) % capacity_;
  size_ = std::min(capacity_, size_ + total);
  return total;
}

void MemoryBank::class_order(std::vector<int32_t>& order, std::vector<int32_t>& offsets) const {
  order.clear();
  offsets.assign(1, 0);
  for (int32_t c = 0; c < num_classes_; ++c) {
    order.insert(order.end(), members_[c].begin(), members_[c].end());
    offsets.push_back(static_cast<int32_t>(order.size()));
  }
}

Tensor MemoryBank::class_means(const std::vector<int32_t>& classes) const {
  std::vector<int32_t> order, offsets(1, 0);
  for (int32_t c : classes) {
    order.insert(order.end(), members_[c].begin(), members_[c].end());
    offsets.push_back(static_cast<int32_t>(order.size()));
  }
  return segment_mean_rows(ring_, order, offsets);
}

void MemoryBank::upload_labels() {
  labels_dev_.copy_from(Tensor::from_vector_i32({capacity_}, labels_));
}

const Tensor& MemoryBank::centers() {
  std::vector<int32_t> classes;
  for (int32_t c = 0; c < num_classes_; ++c)
    if (dirty_[c]) classes.push_back(c);
  refreshed_last_ = static_cast<int64_t>(classes.size());
  if (classes.empty()) return centers_;
  Tensor means = class_means(classes);
  std::vector<int32_t> src(classes.size());
  for (size_t t = 0; t < src.size(); ++t) src[t] = static_cast<int32_t>(t);
  copy_rows(centers_, classes, means, src);
  std::fill(dirty_.begin(), dirty_.end(), 0);
  return centers_;
}

Tensor MemoryBank::centers_recomputed() const {
  std::vector<int32_t> all(num_classes_);
  for (int32_t c = 0; c < num_classes_; ++c) all[c] = c;
  return class_means(all);
}

void MemoryBank::save_state(StateDict& state, const std::string& prefix) const {
  state.tensors[prefix + "embeddings"] = ring_.clone();
  state.tensors[prefix + "labels"] = Tensor::from_vector_i32({capacity_}, labels_);
  std::vector<int32_t> samples(capacity_);
  for (int64_t s = 0; s < capacity_; ++s) {
    if (samples_[s] > INT32_MAX)
      throw Error(where("save_state") + "sample index " + std::to_string(samples_[s]) +
                  " does not fit in int32");
    samples[s] = static_cast<int32_t>(samples_[s]);
  }
  state.tensors[prefix + "sample_indices"] = Tensor::from_vector_i32({capacity_}, samples);
  state.ints[prefix + "size"] = size_;
  state.ints[prefix + "next"] = next_;
  state.ints[prefix + "capacity"] = capacity_;
  state.ints[prefix + "dim"] = dim_;
  state.ints[prefix + "num_classes"] = num_classes_;
}

void MemoryBank::load_state(const StateDict& state, const std::string& prefix) {
  const auto expect = [&](const char* key, int64_t want) {
    const int64_t got = state.integer(prefix + key);
    if (got != want)
      throw Error(where("load_state") + "checkpoint has " + prefix + key + " = " + std::to_string(got) +
                  ", this memory bank has " + std::to_string(want));
  };
  expect("capacity", capacity_);
  expect("dim", dim_);
  expect("num_classes", num_classes_);
  const int64_t size = state.integer(prefix + "size"), next = state.integer(prefix + "next");
  if (size < 0 || size > capacity_ || next < 0 || next >= capacity_ || (size < capacity_ && next != size))
    throw Error(where("load_state") + "inconsistent " + prefix + "size = " + std::to_string(size) + ", " +
                prefix + "next = " + std::to_string(next) + " for capacity " + std::to_string(capacity_));
  const Tensor& emb = state.tensor(prefix + "embeddings");
  const Tensor& lab = state.tensor(prefix + "labels");
  const Tensor& smp = state.tensor(prefix + "sample_indices");
  if (emb.dtype() != DType::f32 || emb.shape() != Shape{capacity_, dim_})
    throw Error(where("load_state") + prefix + "embeddings is " + emb.describe() + ", expected f32[" +
                std::to_string(capacity_) + ", " + std::to_string(dim_) + "]");
  if (lab.dtype() != DType::i32 || lab.shape() != Shape{capacity_} || smp.dtype() != DType::i32 ||
      smp.shape() != Shape{capacity_})
    throw Error(where("load_state") + prefix + "labels / sample_indices must be i32[" +
                std::to_string(capacity_) + "], got " + lab.describe() + " / " + smp.describe());
  std::vector<int32_t> labels = lab.to_vector_i32(), samples = smp.to_vector_i32();
  for (int64_t s = 0; s < capacity_; ++s) {
    const bool filled = s < size;
    if (filled ? (labels[s] < 0 || labels[s] >= num_classes_) : labels[s] != -1)
      throw Error(where("load_state") + prefix + "labels[" + std::to_string(s) +
                  "] = " + std::to_string(labels[s]) +
                  (filled ? " is outside [0, num_classes)" : " should be −1 (empty slot)"));
  }
  clear();
  ring_.copy_from(emb);
  for (int64_t s = 0; s < size; ++s) {
    set_slot_label(s, labels[s]);
    samples_[s] = samples[s];
  }
  upload_labels();
  size_ = size;
  next_ = next;
}

}  // namespace prism::dml

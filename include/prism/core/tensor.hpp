// Tensor: a shape, a dtype (float32 or int32) and a shared, device-tagged storage owned by one backend.
// Contiguous only; the views are reshapes (same storage, new shape) and row ranges (same storage, an offset
// and fewer rows). Copies between devices are explicit (to()). Autograd state (requires_grad, grad, the node
// that made it) lives beside the data; see autograd.hpp.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "prism/backend.hpp"

namespace prism {

enum class DType : uint8_t { f32, i32 };
const char* dtype_name(DType t);
inline size_t dtype_size(DType) {
  return 4;
}

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

struct Storage {
  Backend* backend = nullptr;
  void* data = nullptr;
  size_t bytes = 0;
  Storage(Backend* b, size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- construction (uninitialised unless named otherwise) ------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, DeviceType device = DeviceType::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, DeviceType device = DeviceType::cpu);
  static Tensor full(const Shape& shape, float value, DeviceType device = DeviceType::cpu);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values,
                            DeviceType device = DeviceType::cpu);
  static Tensor from_vector_i32(const Shape& shape, const std::vector<int32_t>& values,
                                DeviceType device = DeviceType::cpu);

  // ---- metadata -------------------------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const;
  DType dtype() const;
  DeviceType device() const;
  Backend& backend() const;
  // The backend, checked to provide `op` (Backend::supports): throws prism::Error naming the op and the
  // device otherwise. The ops call kernels through this.
  Backend& backend_for(Op op) const;
  std::string describe() const;  // "f32[64, 128] on cpu"

  // ---- data -----------------------------------------------------------------------------------------------
  float* data_f32();
  const float* data_f32() const;
  int32_t* data_i32();
  const int32_t* data_i32() const;
  std::vector<float> to_vector() const;  // downloads if needed
  std::vector<int32_t> to_vector_i32() const;
  float item() const;  // one-element tensor

  Tensor to(DeviceType device) const;        // copy (or share when already there); not recorded by autograd
  Tensor clone() const;                      // deep copy on the same device; not recorded
  Tensor detach() const;                     // same storage, no autograd history
  Tensor reshape(const Shape& shape) const;  // view; recorded by autograd
  // View of rows [begin, end) along axis 0 (same storage; writes go through). Not recorded by autograd, so it
  // refuses a tensor that needs gradients while recording is on.
  Tensor rows(int64_t begin, int64_t end) const;
  void copy_from(const Tensor& src);  // same shape/dtype, any devices
  void fill(float value);
  bool same_storage(const Tensor& other) const;

  // ---- autograd -------------------------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);
  Tensor grad() const;  // undefined until a backward pass reaches it
  void set_grad(const Tensor& g);
  void zero_grad();       // drops the gradient
  void backward() const;  // from a one-element tensor; seeds d(self) = 1
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node);

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // elements from the start of the storage (row views)
  Shape shape;
  DType dtype = DType::f32;
  DeviceType device = DeviceType::cpu;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

}  // namespace prism

// Tensor storage, construction, device copies, reshape and row views (reference code).
#include "prism/core/tensor.hpp"

#include <algorithm>
#include <sstream>

#include "prism/core/autograd.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

const char* dtype_name(DType t) {
  return t == DType::f32 ? "f32" : "i32";
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension in shape " + shape_str(s));
    n *= d;
  }
  return n;
}

Storage::Storage(Backend* b, size_t nbytes) : backend(b), bytes(nbytes) {
  data = nbytes ? backend->alloc(nbytes) : nullptr;
}
Storage::~Storage() {
  if (data) backend->dealloc(data, bytes);
}

// ---- construction -----------------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, DeviceType device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->device = device;
  impl->storage = std::make_shared<Storage>(&prism::backend(device), shape_numel(shape) * dtype_size(dtype));
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, DeviceType device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(0.0f);
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, DeviceType device) {
  Tensor t = empty(shape, DType::f32, device);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, DeviceType device) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("from_vector: " + std::to_string(values.size()) + " values for shape " + shape_str(shape));
  Tensor t = empty(shape, DType::f32, device);
  if (!values.empty()) t.backend().upload(t.impl()->storage->data, values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::from_vector_i32(const Shape& shape, const std::vector<int32_t>& values, DeviceType device) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("from_vector_i32: " + std::to_string(values.size()) + " values for shape " +
                shape_str(shape));
  Tensor t = empty(shape, DType::i32, device);
  if (!values.empty()) t.backend().upload(t.impl()->storage->data, values.data(), values.size() * 4);
  return t;
}

// ---- metadata ---------------------------------------------------------------------------------------------

const Shape& Tensor::shape() const {
  return impl_->shape;
}
int64_t Tensor::size(int64_t axis) const {
  int64_t d = dim();
  int64_t a = axis < 0 ? axis + d : axis;
  if (a < 0 || a >= d) throw Error("axis " + std::to_string(axis) + " out of range for " + describe());
  return impl_->shape[a];
}
int64_t Tensor::numel() const {
  return shape_numel(impl_->shape);
}
DType Tensor::dtype() const {
  return impl_->dtype;
}
DeviceType Tensor::device() const {
  return impl_->device;
}
Backend& Tensor::backend() const {
  return *impl_->storage->backend;
}
Backend& Tensor::backend_for(Op op) const {
  Backend& be = backend();
  if (!be.supports(op))
    throw Error(std::string(op_name(op)) + " is not supported by the " + device_name(device()) +
                " backend (tensor " + describe() + ")");
  return be;
}

std::string Tensor::describe() const {
  if (!impl_) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " on " + device_name(device());
}

// ---- data -------------------------------------------------------------------------------------------------

float* Tensor::data_f32() {
  if (dtype() != DType::f32) throw Error("data_f32 on " + describe());
  return static_cast<float*>(impl_->storage->data) + impl_->offset;
}
const float* Tensor::data_f32() const {
  return const_cast<Tensor*>(this)->data_f32();
}
int32_t* Tensor::data_i32() {
  if (dtype() != DType::i32) throw Error("data_i32 on " + describe());
  return static_cast<int32_t*>(impl_->storage->data) + impl_->offset;
}
const int32_t* Tensor::data_i32() const {
  return const_cast<Tensor*>(this)->data_i32();
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(numel());
  if (!out.empty()) backend().download(out.data(), data_f32(), out.size() * 4);
  return out;
}

std::vector<int32_t> Tensor::to_vector_i32() const {
  std::vector<int32_t> out(numel());
  if (!out.empty()) backend().download(out.data(), data_i32(), out.size() * 4);
  return out;
}

float Tensor::item() const {
  if (numel() != 1) throw Error("item() on " + describe());
  return to_vector()[0];
}

Tensor Tensor::to(DeviceType device) const {
  if (device == this->device()) return *this;
  Tensor out = empty(shape(), dtype(), device);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  impl->device = impl_->device;
  return Tensor(impl);
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0 && known > 0) s[infer] = numel() / known;
  if (shape_numel(s) != numel())
    throw Error("reshape: cannot view " + describe() + " as " + shape_str(shape));
  Tensor out = detach();
  out.impl()->shape = s;
  if (needs_grad({this})) {
    Shape from = this->shape();
    record(out, "reshape", {*this}, [from](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
  }
  return out;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  if (dim() < 1) throw Error("rows: needs at least one axis, got " + describe());
  if (begin < 0 || begin > end || end > shape()[0])
    throw Error("rows: [" + std::to_string(begin) + ", " + std::to_string(end) + ") is not a row range of " +
                describe());
  if (needs_grad({this}))
    throw Error("rows: " + describe() + " requires gradients; row views are not recorded (detach first)");
  Tensor out = detach();
  out.impl()->offset += begin * (numel() / std::max<int64_t>(shape()[0], 1));
  out.impl()->shape[0] = end - begin;
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape() != shape() || src.dtype() != dtype())
    throw Error("copy_from: " + src.describe() + " into " + describe());
  size_t bytes = numel() * dtype_size(dtype());
  if (!bytes) return;
  // Both dtypes are 4 bytes wide, so the element offset of a view is the same in either.
  void* dst = static_cast<int32_t*>(impl_->storage->data) + impl_->offset;
  const void* from = static_cast<const int32_t*>(src.impl()->storage->data) + src.impl()->offset;
  if (src.device() == device()) {
    backend_for(Op::copy).copy(dst, from, bytes);
  } else if (src.device() == DeviceType::cpu) {
    backend().upload(dst, from, bytes);
  } else if (device() == DeviceType::cpu) {
    src.backend().download(dst, from, bytes);
  } else {
    std::vector<char> host(bytes);
    src.backend().download(host.data(), from, bytes);
    backend().upload(dst, host.data(), bytes);
  }
}

void Tensor::fill(float value) {
  if (dtype() == DType::f32)
    backend_for(Op::fill).fill_f32(data_f32(), value, numel());
  else
    backend_for(Op::fill).fill_i32(data_i32(), static_cast<int32_t>(value), numel());
}

bool Tensor::same_storage(const Tensor& other) const {
  return impl_ && other.impl_ && impl_->storage == other.impl_->storage;
}

// ---- autograd state ---------------------------------------------------------------------------------------

bool Tensor::requires_grad() const {
  return impl_ && (impl_->requires_grad || impl_->grad_fn);
}
Tensor& Tensor::set_requires_grad(bool on) {
  if (on && dtype() != DType::f32) throw Error("only f32 tensors can require gradients: " + describe());
  impl_->requires_grad = on;
  return *this;
}
Tensor Tensor::grad() const {
  return impl_->grad;
}
void Tensor::set_grad(const Tensor& g) {
  impl_->grad = g;
}
void Tensor::zero_grad() {
  impl_->grad = Tensor();
}
const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return impl_->grad_fn;
}
void Tensor::set_grad_fn(std::shared_ptr<Node> node) {
  impl_->grad_fn = std::move(node);
}

void Tensor::backward() const {
  if (numel() != 1) throw Error("backward() needs a one-element tensor, got " + describe());
  run_backward(*this, Tensor::full(shape(), 1.0f, device()));
}

}  // namespace prism

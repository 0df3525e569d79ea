// Row gathers for the memory bank and the clean-probability estimate: copy_rows and segment_mean_rows, with
// host index vectors checked and uploaded here so their callers hold no device pointers (reference wiring of
// the backend kernels of the same names).
#include <string>

#include "ops_common.hpp"
#include "prism/core/ops.hpp"

namespace prism {

using detail::require;
using detail::require_f32;
using detail::require_same_device;

namespace {
void require_rows_in_range(const std::vector<int32_t>& rows, int64_t limit, const char* op,
                           const char* name) {
  for (size_t j = 0; j < rows.size(); ++j)
    require(rows[j] >= 0 && rows[j] < limit, op,
            std::string(name) + "[" + std::to_string(j) + "] = " + std::to_string(rows[j]) +
                " is outside [0, " + std::to_string(limit) + ")");
}

Tensor upload_indices(const std::vector<int32_t>& v, const Tensor& like) {
  return Tensor::from_vector_i32({static_cast<int64_t>(v.size())}, v, like.device());
}
}  // namespace

void copy_rows(Tensor& dst, const std::vector<int32_t>& dst_rows, const Tensor& src,
               const std::vector<int32_t>& src_rows) {
  require_f32(dst, "copy_rows", "dst");
  require_f32(src, "copy_rows", "src");
  require_same_device(dst, src, "copy_rows");
  require(dst.dim() == 2 && src.dim() == 2 && dst.size(1) == src.size(1), "copy_rows",
          "dst and src must be [·, D] of one width, got " + dst.describe() + " and " + src.describe());
  require(dst_rows.size() == src_rows.size(), "copy_rows",
          std::to_string(dst_rows.size()) + " destination rows for " + std::to_string(src_rows.size()) +
              " source rows");
  require_rows_in_range(dst_rows, dst.size(0), "copy_rows", "dst_rows");
  require_rows_in_range(src_rows, src.size(0), "copy_rows", "src_rows");
  const int64_t count = static_cast<int64_t>(dst_rows.size());
  if (count == 0) return;
  Tensor d_dst = upload_indices(dst_rows, dst), d_src = upload_indices(src_rows, dst);
  dst.backend_for(Op::copy_rows)
      .copy_rows(dst.data_f32(), d_dst.data_i32(), src.data_f32(), d_src.data_i32(), count, dst.size(1));
}

Tensor segment_mean_rows(const Tensor& in, const std::vector<int32_t>& order,
                         const std::vector<int32_t>& offsets) {
  require_f32(in, "segment_mean_rows", "in");
  require(in.dim() == 2, "segment_mean_rows", "needs [R, D], got " + in.describe());
  require(!offsets.empty() && offsets.front() == 0 && offsets.back() == static_cast<int64_t>(order.size()),
          "segment_mean_rows", "offsets must run from 0 to order.size() = " + std::to_string(order.size()));
  for (size_t g = 1; g < offsets.size(); ++g)
    require(offsets[g - 1] <= offsets[g], "segment_mean_rows", "offsets decrease at " + std::to_string(g));
  require_rows_in_range(order, in.size(0), "segment_mean_rows", "order");
  const int64_t groups = static_cast<int64_t>(offsets.size()) - 1, dim = in.size(1);
  Tensor out = Tensor::empty({groups, dim}, DType::f32, in.device());
  if (groups == 0) return out;
  Tensor d_order = upload_indices(order, in), d_offsets = upload_indices(offsets, in);
  in.backend_for(Op::segment_mean_rows)
      .segment_mean_rows(out.data_f32(), in.data_f32(), order.empty() ? nullptr : d_order.data_i32(),
                         d_offsets.data_i32(), groups, dim);
  return out;
}

}  // namespace prism

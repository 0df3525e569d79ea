// Inputs of `prism noise` that are not .npy: Fashion-MNIST IDX labels and pixels, and pixel features of list
// images.
#pragma once
#include <string>
#include <vector>

#include "cli/dml_inputs.hpp"
#include "prism/data/list.hpp"

namespace prism::cli {

std::vector<int32_t> read_idx_labels(const std::string& path);  // *-idx1-ubyte(.gz)
Embeddings read_idx_pixels(const std::string& path);            // *-idx3-ubyte(.gz), pixels / 255, [N, H·W]
// Each image decoded as RGB and resized to side × side, / 255: [N, side·side·3]. Any unreadable image is an
// error.
Embeddings list_pixel_features(const ImageList& list, const std::string& root, int side = 16);

}  // namespace prism::cli

// PRISM / XBM image lists: one `path,label` per line, no header; paths absolute or relative to a root; labels
// may start at 0 or 1. A noisy list and its `*_cleaned_train.csv` twin (the samples whose label is right)
// give the per-sample noise flags. Reference code; errors name the file and line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

struct ImageList {
  std::vector<std::string> paths;
  std::vector<int32_t> labels;
  std::vector<int64_t> lines;  // 1-based line of each entry in its file (empty for lists built in memory)
  size_t size() const { return paths.size(); }
};

// Parses a list; the label is the text after the last comma (paths may contain commas). Blank lines are
// skipped, a leading UTF-8 byte order mark is ignored, and a line holding a NUL byte is an error (file:line).
ImageList read_image_list(const std::string& path);
ImageList parse_image_list(const std::string& text, const std::string& name);
void write_image_list(const std::string& path, const ImageList& list);  // atomic
std::string image_list_text(const ImageList& list);                     // the bytes write_image_list writes

// Maps the distinct labels, in increasing order, to 0..C-1 in place; returns the original label of each new
// one.
std::vector<int32_t> remap_labels_contiguous(std::vector<int32_t>& labels);

// flags[i] = 1 when noisy entry i is not matched by the cleaned twin (its label is wrong). Each cleaned entry
// matches the first unmatched noisy entry with the same path and label, in order, so duplicated paths are
// counted occurrence by occurrence. Throws (file:line) when the cleaned list names a path the noisy list
// lacks, lists it more often, or gives it a label the noisy list does not.
std::vector<uint8_t> noise_flags_from_cleaned(const ImageList& noisy, const ImageList& cleaned,
                                              const std::string& cleaned_name);

// Resolves `p` against `root` unless it is absolute (or root is empty).
std::string resolve_path(const std::string& root, const std::string& p);

}  // namespace prism

// Readers that turn the CUB-200-2011 and Stanford Online Products metadata files into image lists
// (reference).
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/datasets.hpp"

namespace prism {

namespace {
// Whitespace-separated fields of every non-blank line, with the line number for messages.
struct Row {
  int64_t line = 0;
  std::vector<std::string> fields;
};

std::vector<Row> read_rows(const std::string& path) {
  std::string text = read_file(path);
  // A UTF-8 byte order mark is not part of the first field.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::istringstream in(text);
  std::vector<Row> rows;
  std::string line;
  int64_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    // Paths go to the C library, which would stop at a NUL byte and open another file.
    if (line.find('\0') != std::string::npos)
      throw Error(path + ":" + std::to_string(no) + ": NUL byte in the line (not a text file?)");
    std::istringstream ls(line);
    Row r;
    r.line = no;
    for (std::string f; ls >> f;) r.fields.push_back(f);
    if (!r.fields.empty()) rows.push_back(std::move(r));
  }
  return rows;
}

int64_t parse_int(const std::string& text, const std::string& where) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    throw Error(where + ": '" + text + "' is not an integer");
  return v;
}

std::string where(const std::string& path, const Row& r) {
  return path + ":" + std::to_string(r.line);
}

void require_file(const std::string& path, const std::string& dataset) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(dataset + ": '" + path + "' not found (DATA.ROOT must be the dataset's root directory)");
}

// Splits by the distinct class ids: the first ceil(C/2) go to train, the rest to test.
ListPair split_by_class_halves(const ImageList& all) {
  ListPair out;
  const auto first = class_half_indices(all.labels, true);
  const auto second = class_half_indices(all.labels, false);
  for (int64_t i : first) {
    out.train.paths.push_back(all.paths[i]);
    out.train.labels.push_back(all.labels[i]);
  }
  for (int64_t i : second) {
    out.test.paths.push_back(all.paths[i]);
    out.test.labels.push_back(all.labels[i]);
  }
  return out;
}
}  // namespace

ListPair read_cub200(const std::string& root) {
  namespace fs = std::filesystem;
  const std::string images_txt = (fs::path(root) / "images.txt").string();
  const std::string labels_txt = (fs::path(root) / "image_class_labels.txt").string();
  require_file(images_txt, "CUB-200-2011");
  require_file(labels_txt, "CUB-200-2011");
  std::unordered_map<int64_t, int64_t> class_of;
  for (const Row& r : read_rows(labels_txt)) {
    if (r.fields.size() != 2) throw Error(where(labels_txt, r) + ": expected 'image_id class_id'");
    const int64_t id = parse_int(r.fields[0], where(labels_txt, r));
    const int64_t cls = parse_int(r.fields[1], where(labels_txt, r));
    if (cls < 0 || cls > INT32_MAX) throw Error(where(labels_txt, r) + ": class id out of range");
    if (!class_of.emplace(id, cls).second) throw Error(where(labels_txt, r) + ": image id listed twice");
  }
  ImageList all;
  for (const Row& r : read_rows(images_txt)) {
    if (r.fields.size() != 2) throw Error(where(images_txt, r) + ": expected 'image_id path'");
    const int64_t id = parse_int(r.fields[0], where(images_txt, r));
    auto it = class_of.find(id);
    if (it == class_of.end())
      throw Error(where(images_txt, r) + ": image id " + std::to_string(id) + " has no class in " +
                  labels_txt);
    all.paths.push_back((fs::path("images") / r.fields[1]).string());
    all.labels.push_back(static_cast<int32_t>(it->second));
  }
  if (all.size() == 0) throw Error(images_txt + ": no images listed");
  if (all.size() != class_of.size())
    throw Error("CUB-200-2011: " + images_txt + " lists " + std::to_string(all.size()) + " images but " +
                labels_txt + " gives classes for " + std::to_string(class_of.size()));
  return split_by_class_halves(all);
}

namespace {
ImageList read_sop_file(const std::string& path) {
  require_file(path, "Stanford Online Products");
  std::vector<Row> rows = read_rows(path);
  if (rows.empty()) throw Error(path + ": empty file");
  const Row& header = rows.front();
  if (header.fields.size() != 4 || header.fields[0] != "image_id")
    throw Error(where(path, header) + ": expected the header 'image_id class_id super_class_id path'");
  ImageList list;
  for (size_t k = 1; k < rows.size(); ++k) {
    const Row& r = rows[k];
    if (r.fields.size() != 4)
      throw Error(where(path, r) + ": expected 'image_id class_id super_class_id path'");
    const int64_t cls = parse_int(r.fields[1], where(path, r));
    parse_int(r.fields[2], where(path, r));
    if (cls < 0 || cls > INT32_MAX) throw Error(where(path, r) + ": class id out of range");
    list.paths.push_back(r.fields[3]);
    list.labels.push_back(static_cast<int32_t>(cls));
  }
  if (list.size() == 0) throw Error(path + ": no images listed");
  return list;
}
}  // namespace

ListPair read_sop(const std::string& root) {
  namespace fs = std::filesystem;
  ListPair out;
  out.train = read_sop_file((fs::path(root) / "Ebay_train.txt").string());
  out.test = read_sop_file((fs::path(root) / "Ebay_test.txt").string());
  return out;
}

}  // namespace prism

// PRISM CSV image lists: parsing, writing, label remapping and noise flags from a cleaned twin (reference
// code).
#include "prism/data/list.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

ImageList parse_image_list(const std::string& text, const std::string& name) {
  ImageList list;
  size_t pos = 0;
  int64_t line_no = 0;
  // A UTF-8 byte order mark (spreadsheet exports write one) is not part of the first path.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (line.empty()) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    // A path is handed to the C library, which would silently stop at a NUL byte and open another file.
    if (line.find('\0') != std::string::npos)
      throw Error(where + ": NUL byte in the line (not a text list?)");
    const size_t comma = line.rfind(',');
    if (comma == std::string::npos) throw Error(where + ": expected 'path,label', got '" + line + "'");
    std::string path = line.substr(0, comma), label_text = line.substr(comma + 1);
    while (!label_text.empty() && label_text.front() == ' ') label_text.erase(label_text.begin());
    if (path.empty()) throw Error(where + ": empty path");
    // Only the file's first bytes may be a byte order mark; one at the start of a path (concatenated exports)
    // would be written back as the mark a reader strips.
    if (path.compare(0, 3, "\xEF\xBB\xBF") == 0)
      throw Error(where + ": the path starts with a UTF-8 byte order mark (concatenated lists?)");
    int64_t label = 0;
    auto [ptr, ec] = std::from_chars(label_text.data(), label_text.data() + label_text.size(), label);
    if (ec != std::errc() || ptr != label_text.data() + label_text.size() || label_text.empty())
      throw Error(where + ": label '" + label_text + "' is not an integer");
    if (label < 0 || label > INT32_MAX)
      throw Error(where + ": label " + label_text + " is out of range (>= 0)");
    list.paths.push_back(std::move(path));
    list.labels.push_back(static_cast<int32_t>(label));
    list.lines.push_back(line_no);
  }
  if (list.paths.empty()) throw Error(name + ": the list is empty");
  return list;
}

ImageList read_image_list(const std::string& path) {
  return parse_image_list(read_file(path), path);
}

std::string image_list_text(const ImageList& list) {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) out += list.paths[i] + "," + std::to_string(list.labels[i]) + "\n";
  return out;
}

void write_image_list(const std::string& path, const ImageList& list) {
  write_file_atomic(path, image_list_text(list));
}

std::vector<int32_t> remap_labels_contiguous(std::vector<int32_t>& labels) {
  std::vector<int32_t> distinct = labels;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::unordered_map<int32_t, int32_t> to_new;
  for (size_t i = 0; i < distinct.size(); ++i) to_new[distinct[i]] = static_cast<int32_t>(i);
  for (int32_t& l : labels) l = to_new[l];
  return distinct;
}

std::vector<uint8_t> noise_flags_from_cleaned(const ImageList& noisy, const ImageList& cleaned,
                                              const std::string& cleaned_name) {
  // Each entry of the cleaned twin marks one entry of the noisy list clean: the first not yet matched one
  // with the same path and label, in file order. So a path listed twice in the noisy list is clean as often
  // as the twin lists it (matching by path alone flagged every duplicate noisy). See docs/data.md.
  std::unordered_map<std::string, std::vector<size_t>> index;
  for (size_t i = 0; i < noisy.size(); ++i) index[noisy.paths[i]].push_back(i);
  std::vector<uint8_t> flags(noisy.size(), 1);
  for (size_t j = 0; j < cleaned.size(); ++j) {
    const std::string where =
        cleaned_name + ":" +
        std::to_string(cleaned.lines.size() == cleaned.size() ? cleaned.lines[j] : int64_t(j + 1));
    auto it = index.find(cleaned.paths[j]);
    if (it == index.end())
      throw Error(where + ": names '" + cleaned.paths[j] + "', which the noisy list does not contain");
    size_t unmatched = 0;
    bool matched = false;
    for (size_t i : it->second) {
      if (!flags[i]) continue;
      ++unmatched;
      if (noisy.labels[i] == cleaned.labels[j]) {
        flags[i] = 0;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (unmatched == 0)
      throw Error(where + ": lists '" + cleaned.paths[j] + "' more often than the noisy list does (" +
                  std::to_string(it->second.size()) + " time" + (it->second.size() == 1 ? "" : "s") + ")");
    std::string noisy_labels;
    for (size_t i : it->second)
      if (flags[i]) noisy_labels += (noisy_labels.empty() ? "" : ", ") + std::to_string(noisy.labels[i]);
    throw Error(where + ": gives '" + cleaned.paths[j] + "' label " + std::to_string(cleaned.labels[j]) +
                " but the noisy list gives " + noisy_labels);
  }
  return flags;
}

std::string resolve_path(const std::string& root, const std::string& p) {
  if (root.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(root) / p).string();
}

}  // namespace prism

// `prism audit`'s outputs (reference code): audit.csv (one row per training sample, worst first), audit.json
// (counts, the estimated noise rate and, with known flags, the detection metrics) and audit.html (one
// self-contained page: the worst suspects beside examples of their given and suggested classes, class filters).
// Only the pictures shown are decoded, so memory stays bounded for large lists. Layout: docs/audit.md.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/data/dataset.hpp"
#include "prism/train/audit.hpp"

namespace prism {

struct AuditReportInput {
  const Dataset* train = nullptr;  // the training set as the config builds it (index = its position)
  const LabelScores* scores = nullptr;
  const AuditSummary* summary = nullptr;
  AuditOptions scoring;
  std::string scorer_summary;
  std::string title, run_dir;
  int64_t iteration = -1;  // the model's iteration (-1: from cached embeddings)
  // The value written for label c (the dataset's own label before compaction); empty = c itself.
  std::vector<int32_t> label_values;
  // A name per label value (Fashion-MNIST's class names); empty = none.
  std::vector<std::string> class_names;
  int64_t show = 60;      // suspects on the page (the first rows of the CSV)
  int64_t exemplars = 4;  // pictures of each class beside a suspect
};

// The header is index,path,label,suggested_label,score,flagged (+ ,noisy when the flags are known).
std::string audit_csv(const AuditReportInput& in);
nlohmann::ordered_json audit_json(const AuditReportInput& in);
std::string audit_html(const AuditReportInput& in);

// DIR/audit.csv, audit.json, audit.html, written as one atomic step (temp files, then renames).
void write_audit_outputs(const std::string& dir, const AuditReportInput& in);

// Fashion-MNIST's class names, label 0 … 9.
std::vector<std::string> fashion_mnist_class_names();

}  // namespace prism

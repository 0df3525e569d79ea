// prism eval: retrieval metrics (P@1, R-Precision, MAP@R, Recall@{1,2,4,8}) of embeddings saved as .npy,
// query set against itself (self excluded) or against a separate gallery. Reference wiring of
// dml::evaluate_retrieval.
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/dml_inputs.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/dml/metrics.hpp"

namespace prism::cli {

namespace {

struct EvalArgs {
  std::string embeddings, labels, gallery_embeddings, gallery_labels;
  bool no_normalize = false, json = false;
  RuntimeOptions rt;
};

void run_eval(const EvalArgs& a) {
  const DeviceType device = apply_runtime_options(a.rt);
  if (a.gallery_embeddings.empty() != a.gallery_labels.empty())
    throw Error("eval: --gallery-embeddings and --gallery-labels go together (give both or neither)");
  const Embeddings q = load_embeddings(a.embeddings, "embeddings");
  const std::vector<int32_t> yq = load_labels(a.labels, q.rows, a.embeddings);
  Embeddings g;
  std::vector<int32_t> yg;
  const bool separate = !a.gallery_embeddings.empty();
  if (separate) {
    g = load_embeddings(a.gallery_embeddings, "gallery embeddings");
    yg = load_labels(a.gallery_labels, g.rows, a.gallery_embeddings);
    if (g.cols != q.cols)
      throw Error("eval: " + a.embeddings + " has " + std::to_string(q.cols) + " columns, " +
                  a.gallery_embeddings + " has " + std::to_string(g.cols));
  }
  NoGradGuard no_grad;
  const auto t0 = std::chrono::steady_clock::now();
  Tensor Q = to_tensor(q, device), G = separate ? to_tensor(g, device) : Tensor();
  if (!a.no_normalize) {
    Q = l2_normalize(Q);
    if (separate) G = l2_normalize(G);
  }
  const dml::RetrievalMetrics m = dml::evaluate_retrieval(Q, yq, G, yg);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (m.num_queries == 0)
    throw Error("eval: no query has a relevant gallery item (every query's class is absent from the gallery" +
                std::string(separate ? "" : " or has a single sample") + ")");

  nlohmann::json out = {{"precision_at_1", m.precision_at_1},
                        {"r_precision", m.r_precision},
                        {"map_at_r", m.map_at_r},
                        {"recall_at_1", m.recall_at_1},
                        {"recall_at_2", m.recall_at_2},
                        {"recall_at_4", m.recall_at_4},
                        {"recall_at_8", m.recall_at_8},
                        {"num_queries", m.num_queries},
                        {"num_skipped_queries", m.num_skipped_queries},
                        {"num_gallery", separate ? g.rows : q.rows},
                        {"gallery", separate ? "separate" : "queries (self excluded)"},
                        {"normalized", !a.no_normalize},
                        {"device", device_name(device)},
                        {"mode", mode_name(mode())},
                        {"seconds", seconds}};
  if (a.json) {
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("queries %lld (skipped %lld without a relevant item), gallery %lld%s, %s/%s, %.2f s\n",
              static_cast<long long>(m.num_queries), static_cast<long long>(m.num_skipped_queries),
              static_cast<long long>(separate ? g.rows : q.rows),
              separate ? "" : " (same set, self excluded)", device_name(device), mode_name(mode()), seconds);
  std::printf("  P@1          %7.2f %%\n  R-Precision  %7.2f %%\n  MAP@R        %7.2f %%\n",
              100 * m.precision_at_1, 100 * m.r_precision, 100 * m.map_at_r);
  std::printf("  Recall@1/2/4/8  %.2f / %.2f / %.2f / %.2f %%\n", 100 * m.recall_at_1, 100 * m.recall_at_2,
              100 * m.recall_at_4, 100 * m.recall_at_8);
}

}  // namespace

void register_eval(CLI::App& app) {
  static EvalArgs args;
  auto* cmd =
      app.add_subcommand("eval", "Retrieval metrics of saved embeddings (P@1, R-Precision, MAP@R, Recall@K)");
  cmd->add_option("--embeddings", args.embeddings, "Query embeddings, float32 .npy [N, D]")->required();
  cmd->add_option("--labels", args.labels, "Query labels, int32/int64 .npy [N]")->required();
  cmd->add_option("--gallery-embeddings", args.gallery_embeddings,
                  "Gallery embeddings (default: the queries themselves, each query's own entry excluded)");
  cmd->add_option("--gallery-labels", args.gallery_labels, "Gallery labels");
  cmd->add_flag("--no-normalize", args.no_normalize,
                "Use the embeddings as given (default: L2-normalise rows)");
  cmd->add_flag("--json", args.json, "Print one JSON object on stdout");
  add_runtime_options(cmd, args.rt);
  cmd->callback([] { run_eval(args); });
}

}  // namespace prism::cli

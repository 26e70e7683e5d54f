#include "plans/index_params.h"

#include <algorithm>
#include <cctype>

#include "plans/input_error.h"
#include "plans/step_params.h"

namespace shardshift::plans {

IndexParams ReadIndexParams(const Plan& plan) {
  if (plan.header.kind != "create_index") {
    throw InputError({}, "plan.kind", "plan '" + plan.header.name + "' is a " + plan.header.kind +
                                          " plan, not a create_index plan");
  }
  IndexParams out;
  if (plan.steps.empty()) return out;
  out.pace = ReadPace(plan);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    const StepParams p(s, i);
    if (i == 0) {
      out.databases = p.List("databases", "");
      if (out.databases.empty()) throw p.Error("databases", "names no database");
      out.parallel = p.Number("parallel", 1);
      if (out.parallel < 1) throw p.Error("parallel", "must be 1 or more");
    }
    if (p.Has("shadow")) {
      const std::string tag = p.Text("shadow");
      auto it = std::find_if(out.shadows.begin(), out.shadows.end(), [&](const ShadowParams& x) { return x.tag == tag; });
      if (it == out.shadows.end()) {
        out.shadows.push_back({tag, s.database, p.Required("fingerprint"), {}});
        it = out.shadows.end() - 1;
      }
      it->steps.push_back(i);
      continue;
    }
    if (s.kind != StepKind::kBuildIndex) continue;
    IndexBuildParams b;
    b.table = p.Required("table");
    b.index = p.Required("index");
    b.unique = p.OneOf("unique", {"true", "false", ""}) == "true";
    b.where = p.Text("where");
    b.columns = p.Read("columns", "", [](const nlohmann::json& j) {
      std::vector<IndexColumnParams> cols;
      for (const nlohmann::json& c : j) {
        const std::string order = c.at(1).get<std::string>();
        if (order != "asc" && order != "desc") throw std::invalid_argument("a column's order is \"asc\" or \"desc\", not \"" + order + "\"");
        const bool expression = c.size() > 2 && c.at(2).get<std::string>() == "expression";
        cols.push_back({c.at(0).get<std::string>(), order == "desc", expression});
      }
      return cols;
    });
    if (b.columns.empty()) throw p.Error("columns", "names no column");
    b.include = p.List("include");
    out.builds[s.id] = std::move(b);
  }
  return out;
}

bool SameExpression(const std::string& a, const std::string& b) {
  auto plain = [](const std::string& e) {
    std::string out;
    for (char ch : e) {
      if (ch != '"' && ch != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    // The catalog prints a key part without the parentheses CREATE INDEX needed around it.
    while (out.size() > 2 && out.front() == '(' && out.back() == ')') out = out.substr(1, out.size() - 2);
    return out;
  };
  return plain(a) == plain(b);
}

}  // namespace shardshift::plans

// Reading one plan step's parameters (strings in the file, JSON for lists and records) in the
// types the executors use; every failure is an InputError naming the step, the parameter and where
// the file holds it. Shared by copy_params, index_params and replica_params.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "plans/input_error.h"
#include "plans/plan.h"

namespace shardshift::plans {

// Reads one step's parameters; every failure names the step and the parameter.
class StepParams {
 public:
  StepParams(const Step& step, size_t index) : step_(step), index_(index) {}

  bool Has(const std::string& name) const { return step_.params.count(name) > 0; }
  std::string Text(const std::string& name, const std::string& fallback = "") const {
    auto it = step_.params.find(name);
    return it == step_.params.end() ? fallback : it->second;
  }
  std::string Required(const std::string& name) const {
    if (!Has(name)) throw Error(name, "is missing (it is not a plan `shardshift plan` wrote; plan again)");
    return Text(name);
  }
  nlohmann::json Json(const std::string& name, const std::string& fallback) const {
    const std::string text = Text(name, fallback);
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
      throw Error(name, "is not the JSON `shardshift plan` writes: " + text.substr(0, 80));
    }
  }
  std::vector<std::string> List(const std::string& name, const std::string& fallback = "[]") const {
    const nlohmann::json j = Json(name, fallback);
    try {
      return j.get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(name, "is not a JSON list of strings");
    }
  }
  int64_t Number(const std::string& name, int64_t fallback) const {
    if (!Has(name)) return fallback;
    const std::string text = Text(name);
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) throw Error(name, "is not a whole number: " + text);
    return n;
  }
  // A number with a fraction (seconds); from_chars for double is locale-free.
  double Decimal(const std::string& name, double fallback) const {
    if (!Has(name)) return fallback;
    const std::string text = Text(name);
    double d = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || end != text.data() + text.size() || d < 0) {
      throw Error(name, "is not a number of zero or more: " + text);
    }
    return d;
  }
  // A word from a fixed set ("" when absent and allowed).
  std::string OneOf(const std::string& name, const std::vector<std::string>& allowed) const {
    const std::string text = Text(name);
    for (const std::string& a : allowed) {
      if (text == a) return text;
    }
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + (a.empty() ? "(absent)" : "\"" + a + "\"");
    throw Error(name, "is \"" + text + "\"; it is one of " + list);
  }
  // A JSON record or list read by f, whose nlohmann errors (and std::invalid_argument, for a value
  // f refuses) become this parameter's.
  template <class F>
  auto Read(const std::string& name, const std::string& fallback, F&& f) const {
    const nlohmann::json j = Json(name, fallback);
    try {
      return f(j);
    } catch (const nlohmann::json::exception& e) {
      throw Error(name, std::string("is not what `shardshift plan` writes: ") + e.what());
    } catch (const std::invalid_argument& e) {  // f's own check of a value
      throw Error(name, std::string("is not what `shardshift plan` writes: ") + e.what());
    }
  }
  InputError Error(const std::string& name, const std::string& message) const {
    auto it = step_.param_pos.find(name);
    return InputError(it != step_.param_pos.end() ? it->second : step_.pos,
                      fmt::format("steps[{}].params.{}", index_, name),
                      fmt::format("step '{}': {}", step_.id, message));
  }
  const Step& step() const { return step_; }

 private:
  const Step& step_;
  size_t index_;
};

}  // namespace shardshift::plans

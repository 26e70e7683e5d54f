#include "plans/directory.h"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "plans/routing.h"

namespace shardshift::plans {

std::optional<std::string> DirectoryLayout::DefaultShard(const std::string& key_text) const {
  if (shards.empty()) return std::nullopt;
  if (rule == kRoutingFunction) {
    return shards[static_cast<size_t>(ShardForKey({key_text}, static_cast<int32_t>(shards.size())))];
  }
  if (ranges.size() == 1 && !ranges[0].first && !ranges[0].second) return shards[0];  // one database holds all
  int64_t v = 0;
  const char* end = key_text.data() + key_text.size();
  auto [p, ec] = std::from_chars(key_text.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  for (size_t i = 0; i < ranges.size() && i < shards.size(); ++i) {
    const auto& [from, to] = ranges[i];
    if ((!from || v >= *from) && (!to || v < *to)) return shards[i];
  }
  return std::nullopt;
}

std::string DirectoryLayout::RangesJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [from, to] : ranges) {
    out.push_back({from ? nlohmann::json(*from) : nlohmann::json(nullptr), to ? nlohmann::json(*to) : nlohmann::json(nullptr)});
  }
  return out.dump();
}

std::vector<std::pair<std::optional<int64_t>, std::optional<int64_t>>> DirectoryLayout::ParseRanges(
    const std::string& json) {
  std::vector<std::pair<std::optional<int64_t>, std::optional<int64_t>>> out;
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) throw std::runtime_error("ranges is not a JSON array: " + json);
  for (const nlohmann::json& r : j) {
    if (!r.is_array() || r.size() != 2) throw std::runtime_error("a range is not a [from, to] pair: " + r.dump());
    auto bound = [&](const nlohmann::json& b) -> std::optional<int64_t> {
      if (b.is_null()) return std::nullopt;
      if (!b.is_number_integer()) throw std::runtime_error("a range bound is not an integer: " + b.dump());
      return b.get<int64_t>();
    };
    out.emplace_back(bound(r[0]), bound(r[1]));
  }
  return out;
}

std::string DirectoryLayout::Describe() const {
  if (rule != "range") return fmt::format("{} onto {}", rule, fmt::join(shards, ", "));
  std::vector<std::string> parts;
  for (size_t i = 0; i < shards.size() && i < ranges.size(); ++i) {
    const auto& [from, to] = ranges[i];
    parts.push_back(fmt::format("[{}, {}) on {}", from ? std::to_string(*from) : "-inf",
                                to ? std::to_string(*to) : "+inf", shards[i]));
  }
  return "range " + fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace shardshift::plans

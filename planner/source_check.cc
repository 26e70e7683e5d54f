#include "planner/source_check.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "db/connection.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

std::string ColumnText(const db::ColumnInfo& c) {
  return fmt::format("'{}' {}{}{}{}", c.name, c.type, c.charset.empty() ? "" : " CHARACTER SET " + c.charset,
                     c.collation.empty() ? "" : " COLLATE " + c.collation, c.nullable ? "" : " NOT NULL");
}

}  // namespace

std::string KeyText(const std::vector<std::string>& key) { return fmt::format("({})", fmt::join(key, ", ")); }

std::string ShapeDifference(const db::TableInfo& a, const std::string& a_name,
                            const db::TableInfo& b, const std::string& b_name) {
  for (size_t i = 0; i < std::max(a.columns.size(), b.columns.size()); ++i) {
    if (i >= a.columns.size()) return fmt::format("{} has an extra column {}", b_name, ColumnText(b.columns[i]));
    if (i >= b.columns.size()) return fmt::format("{} has an extra column {}", a_name, ColumnText(a.columns[i]));
    const db::ColumnInfo& x = a.columns[i];
    const db::ColumnInfo& y = b.columns[i];
    if (x.name != y.name || x.type != y.type || x.nullable != y.nullable || x.charset != y.charset ||
        x.collation != y.collation) {
      return fmt::format("column {} is {} on {} but {} on {}", i + 1, ColumnText(x), a_name, ColumnText(y), b_name);
    }
    // Defaults, but for a sequence's, which a target leaves out on purpose (values come from the
    // source): a row the application inserts after the switch gets the source's default.
    auto own_default = [](const db::ColumnInfo& c) {
      return c.default_value && c.default_value->find("nextval(") == std::string::npos ? *c.default_value
                                                                                         : std::string();
    };
    if (own_default(x) != own_default(y) && !own_default(x).empty() && !own_default(y).empty()) {
      return fmt::format("column '{}' defaults to {} on {} but to {} on {}", x.name, own_default(x), a_name,
                         own_default(y), b_name);
    }
    if (own_default(x) != own_default(y)) {
      const bool on_a = !own_default(x).empty();
      return fmt::format("column '{}' defaults to {} on {} and has no default on {}", x.name,
                         on_a ? own_default(x) : own_default(y), on_a ? a_name : b_name, on_a ? b_name : a_name);
    }
  }
  if (a.primary_key != b.primary_key) {
    return fmt::format("the primary key is {} on {} but {} on {}", KeyText(a.primary_key), a_name,
                       KeyText(b.primary_key), b_name);
  }
  return "";
}

SourceSchemas CheckReshardSources(SchemaReader& reader, const plans::Spec& spec) {
  const plans::ReshardSpec& r = *spec.reshard;
  const db::TableName name = db::TableName::Parse(r.table);
  const db::TableName target_name = db::TableName::Parse(r.target_table);
  SourceSchemas out;
  std::string first_db;
  for (const plans::SourceShard& source : r.sources) {
    db::SchemaInfo schema = reader.Read(source.database.name, {name.schema, name.name, true});
    const db::TableInfo* t = schema.FindTable(name.schema, name.name);
    if (!t) {
      throw plans::InputError(source.database.pos, "reshard.table",
                              fmt::format("table {} does not exist on database '{}'", r.table,
                                          source.database.name));
    }
    out.fingerprints.push_back(db::Fingerprint(schema));
    out.row_estimates.push_back(t->row_estimate);
    if (first_db.empty()) {
      out.table = *t;
      first_db = source.database.name;
      continue;
    }
    std::string diff = ShapeDifference(out.table, "'" + first_db + "'", *t, "'" + source.database.name + "'");
    if (!diff.empty()) {
      throw plans::InputError(source.database.pos, "reshard.source",
                              "table " + r.table + " differs between source shards: " + diff);
    }
  }
  for (const std::string& col : r.key) {
    if (!out.table.FindColumn(col)) {
      throw plans::InputError(r.key_pos, "reshard.key",
                              fmt::format("table {} has no column '{}'", r.table, col));
    }
    if (!out.table.FindColumn(col)->generated.empty()) {
      throw plans::InputError(r.key_pos, "reshard.key",
                              fmt::format("column '{}' of {} is generated: the key is copied, so it must be a "
                                          "stored column", col, r.table));
    }
  }
  // Unique: a unique key itself, or one of them and more NOT NULL columns (a key that leads with the
  // shard_by columns: customer_id, id).
  std::set<std::string> wanted(r.key.begin(), r.key.end());
  const bool not_null = std::all_of(r.key.begin(), r.key.end(),
                                    [&](const std::string& c) { return !out.table.FindColumn(c)->nullable; });
  bool unique = not_null && std::any_of(out.table.unique_keys.begin(), out.table.unique_keys.end(),
                                        [&](const std::vector<std::string>& k) {
                                          return std::all_of(k.begin(), k.end(),
                                                             [&](const std::string& c) { return wanted.count(c) > 0; });
                                        });
  if (!unique) {
    std::vector<std::string> keys;
    for (const auto& k : out.table.unique_keys) keys.push_back(KeyText(k));
    throw plans::InputError(
        r.key_pos, "reshard.key",
        fmt::format("{} is not the primary key or a unique key of NOT NULL columns of {}, nor one with more NOT NULL "
                    "columns (its keys: {})",
                    KeyText(r.key), r.table, keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", "))));
  }
  for (const plans::DatabaseRef& target : r.targets) {
    db::SchemaInfo schema = reader.Read(target.name, {target_name.schema, target_name.name, false});
    const db::TableInfo* t = schema.FindTable(target_name.schema, target_name.name);
    out.target_has_table.push_back(t != nullptr);
    if (!t) continue;
    std::string diff = ShapeDifference(out.table, "the source", *t, "target '" + target.name + "'");
    if (!diff.empty()) {
      throw plans::InputError(target.pos, "reshard.target.databases",
                              "target '" + target.name + "' already has " + r.target_table +
                                  " in another shape: " + diff);
    }
  }
  return out;
}

}  // namespace shardshift::planner

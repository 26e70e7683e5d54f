#include "db/schema.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "db/connection.h"

namespace shardshift::db {

bool IndexInfo::PlainColumns() const {
  for (const IndexColumn& c : columns) {
    if (c.name.empty() || c.prefix_length != 0) return false;
  }
  return true;
}

const ColumnInfo* TableInfo::FindColumn(std::string_view column) const {
  for (const ColumnInfo& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const ColumnStats* TableInfo::FindStats(std::string_view column) const {
  for (const ColumnStats& s : stats) {
    if (s.column == column) return &s;
  }
  return nullptr;
}

const TableInfo* SchemaInfo::FindTable(std::string_view schema, std::string_view name) const {
  for (const TableInfo& t : tables) {
    if ((schema.empty() || t.schema == schema) && t.name == name) return &t;
  }
  return nullptr;
}

const TableInfo* SchemaInfo::FindWritten(std::string_view written) const {
  const TableName n = TableName::Parse(written);
  return FindTable(n.schema, n.name);
}

bool IsShardshiftTable(std::string_view name) { return name.starts_with("_shardshift") || name.starts_with("_ss_"); }

void DeriveUniqueKeys(TableInfo& table) {
  table.unique_keys.clear();
  if (!table.primary_key.empty()) table.unique_keys.push_back(table.primary_key);
  for (const IndexInfo& idx : table.indexes) {
    if (!idx.unique || idx.primary || !idx.valid || !idx.predicate.empty() || !idx.PlainColumns()) {
      continue;
    }
    std::vector<std::string> cols;
    bool not_null = true;
    for (const IndexColumn& c : idx.columns) {
      const ColumnInfo* info = table.FindColumn(c.name);
      not_null = not_null && info && !info->nullable;
      cols.push_back(c.name);
    }
    if (not_null) table.unique_keys.push_back(std::move(cols));
  }
}

namespace {

// Length-prefixed fields so that no two different shapes serialize alike.
void Put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ';';
}

std::string ShapeOf(const TableInfo& t) {
  std::string out;
  Put(out, "table");
  Put(out, t.schema);
  Put(out, t.name);
  for (const ColumnInfo& c : t.columns) {
    Put(out, "column");
    Put(out, c.name);
    Put(out, c.type);
    Put(out, c.nullable ? "null" : "notnull");
    Put(out, c.default_value.value_or("\x01"));
    Put(out, c.generated);
    Put(out, c.identity ? "identity" : "");
    for (const std::string* f : {&c.charset, &c.collation, &c.comment, &c.on_update, &c.check, &c.storage,
                                 &c.compression}) {
      Put(out, *f);
    }
    Put(out, c.invisible ? "invisible" : "");
    Put(out, c.generated_stored ? "stored" : "");
  }
  for (const CheckInfo& k : t.checks) {
    Put(out, "check");
    Put(out, k.name);
    Put(out, k.expression);
  }
  Put(out, "options");
  for (const std::string* f : {&t.comment, &t.charset, &t.collation}) Put(out, *f);
  for (const std::string& o : t.options) Put(out, o);
  for (const UserType& u : t.types) Put(out, u.definition);
  Put(out, "pk");
  for (const std::string& k : t.primary_key) Put(out, k);
  for (const IndexInfo& i : t.indexes) {
    Put(out, "index");
    Put(out, i.name);
    Put(out, i.unique ? "unique" : "");
    Put(out, i.valid ? "valid" : "invalid");
    Put(out, i.method);
    Put(out, i.predicate);
    for (const IndexColumn& c : i.columns) {
      Put(out, c.name);
      Put(out, c.expression);
      Put(out, c.descending ? "desc" : "asc");
      Put(out, c.opclass);
      Put(out, std::to_string(c.prefix_length));
    }
    Put(out, "include");
    for (const std::string& c : i.include) Put(out, c);
  }
  for (const ForeignKeyInfo& f : t.foreign_keys) {
    Put(out, "fk");
    Put(out, f.name);
    for (const std::string& c : f.columns) Put(out, c);
    Put(out, f.ref_schema);
    Put(out, f.ref_table);
    for (const std::string& c : f.ref_columns) Put(out, c);
    Put(out, f.on_update);
    Put(out, f.on_delete);
  }
  return out;
}

std::string Hash(const std::string& text) {
  return fmt::format("xxh64:{:016x}", XXH64(text.data(), text.size(), 0));
}

}  // namespace

std::string Fingerprint(const TableInfo& table) { return Hash(ShapeOf(table)); }

std::string Fingerprint(const SchemaInfo& schema) {
  std::string out;
  Put(out, EngineName(schema.engine));
  for (const TableInfo& t : schema.tables) out += ShapeOf(t);
  return Hash(out);
}

nlohmann::json ToJson(const SchemaInfo& schema) {
  nlohmann::json tables = nlohmann::json::array();
  auto opt = [](const auto& v) -> nlohmann::json {
    if (v) return *v;
    return nullptr;
  };
  for (const TableInfo& t : schema.tables) {
    nlohmann::json cols = nlohmann::json::array();
    for (const ColumnInfo& c : t.columns) {
      cols.push_back({{"name", c.name}, {"type", c.type}, {"nullable", c.nullable},
                      {"default", opt(c.default_value)}, {"generated", c.generated},
                      {"identity", c.identity}, {"charset", c.charset}, {"collation", c.collation},
                      {"comment", c.comment}, {"on_update", c.on_update}, {"check", c.check},
                      {"invisible", c.invisible}, {"storage", c.storage}, {"compression", c.compression}});
    }
    nlohmann::json idx = nlohmann::json::array();
    for (const IndexInfo& i : t.indexes) {
      nlohmann::json keys = nlohmann::json::array();
      for (const IndexColumn& c : i.columns) {
        keys.push_back({{"column", c.name}, {"expression", c.expression},
                        {"descending", c.descending}, {"opclass", c.opclass},
                        {"prefix_length", c.prefix_length}});
      }
      idx.push_back({{"name", i.name}, {"columns", keys}, {"include", i.include},
                     {"unique", i.unique}, {"primary", i.primary}, {"valid", i.valid},
                     {"method", i.method}, {"predicate", i.predicate},
                     {"constraint", i.constraint}, {"size_bytes", i.size_bytes}});
    }
    nlohmann::json fks = nlohmann::json::array();
    for (const ForeignKeyInfo& f : t.foreign_keys) {
      fks.push_back({{"name", f.name}, {"columns", f.columns}, {"ref_schema", f.ref_schema},
                     {"ref_table", f.ref_table}, {"ref_columns", f.ref_columns},
                     {"on_update", f.on_update}, {"on_delete", f.on_delete}});
    }
    nlohmann::json stats = nlohmann::json::array();
    for (const ColumnStats& s : t.stats) {
      nlohmann::json mcv = nlohmann::json::array();
      for (const auto& [v, f] : s.most_common) mcv.push_back({{"value", v}, {"frequency", f}});
      stats.push_back({{"column", s.column}, {"distinct", opt(s.distinct)},
                       {"null_fraction", opt(s.null_fraction)}, {"most_common", mcv}});
    }
    nlohmann::json checks = nlohmann::json::array();
    for (const CheckInfo& k : t.checks) {
      checks.push_back({{"name", k.name}, {"expression", k.expression}, {"columns", k.columns}, {"valid", k.valid}});
    }
    nlohmann::json types = nlohmann::json::array();
    for (const UserType& u : t.types) {
      types.push_back({{"kind", u.kind}, {"name", u.name}, {"definition", u.definition}});
    }
    tables.push_back({{"schema", t.schema}, {"name", t.name}, {"columns", cols}, {"checks", checks},
                      {"comment", t.comment}, {"charset", t.charset}, {"collation", t.collation},
                      {"options", t.options}, {"types", types},
                      {"primary_key", t.primary_key}, {"unique_keys", t.unique_keys},
                      {"indexes", idx}, {"foreign_keys", fks}, {"row_estimate", t.row_estimate},
                      {"data_bytes", t.data_bytes}, {"index_bytes", t.index_bytes},
                      {"total_bytes", t.total_bytes}, {"statistics", stats},
                      {"fingerprint", Fingerprint(t)}});
  }
  return {{"engine", EngineName(schema.engine)}, {"database", schema.database},
          {"server_version", schema.server_version}, {"fingerprint", Fingerprint(schema)},
          {"tables", tables}};
}

std::string RenderText(const SchemaInfo& schema) {
  std::string out = fmt::format("{} database {} (server {}), {} table(s), fingerprint {}\n",
                                EngineName(schema.engine), schema.database, schema.server_version,
                                schema.tables.size(), Fingerprint(schema));
  for (const TableInfo& t : schema.tables) {
    std::string rows = t.row_estimate < 0 ? "rows unknown" : fmt::format("~{} rows", t.row_estimate);
    out += fmt::format("\n  {}{} ({}, {} bytes)\n", t.schema.empty() ? "" : t.schema + ".", t.name,
                       rows, t.total_bytes);
    for (const ColumnInfo& c : t.columns) {
      out += fmt::format("    {:<20} {}{}{}{}\n", c.name, c.type, c.nullable ? "" : " NOT NULL",
                         c.default_value ? " DEFAULT " + *c.default_value : "",
                         c.identity ? " (identity)" : "");
    }
    if (!t.primary_key.empty()) {
      out += fmt::format("    primary key ({})\n", fmt::join(t.primary_key, ", "));
    }
    for (const IndexInfo& i : t.indexes) {
      if (i.primary) continue;
      std::vector<std::string> keys;
      for (const IndexColumn& c : i.columns) {
        std::string k = c.name.empty() ? "(" + c.expression + ")" : c.name;
        if (c.prefix_length) k += fmt::format("({})", c.prefix_length);
        if (!c.opclass.empty()) k += " " + c.opclass;
        if (c.descending) k += " DESC";
        keys.push_back(k);
      }
      out += fmt::format("    {}index {} ({}){}{}{}\n", i.unique ? "unique " : "", i.name,
                         fmt::join(keys, ", "),
                         i.include.empty() ? "" : fmt::format(" INCLUDE ({})", fmt::join(i.include, ", ")),
                         i.predicate.empty() ? "" : " WHERE " + i.predicate,
                         i.valid ? "" : " INVALID");
    }
    for (const ForeignKeyInfo& f : t.foreign_keys) {
      out += fmt::format("    foreign key {} ({}) -> {}{}({}) on delete {}\n", f.name,
                         fmt::join(f.columns, ", "), f.ref_schema.empty() ? "" : f.ref_schema + ".",
                         f.ref_table, fmt::join(f.ref_columns, ", "), f.on_delete);
    }
    for (const ColumnStats& s : t.stats) {
      if (!s.distinct) continue;
      out += fmt::format("    stats {}: ~{:.0f} distinct", s.column, *s.distinct);
      if (s.null_fraction) out += fmt::format(", {:.1f}% null", *s.null_fraction * 100);
      if (!s.most_common.empty()) {
        out += fmt::format(", most common '{}' ({:.1f}%)", s.most_common[0].first,
                           s.most_common[0].second * 100);
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace shardshift::db

#include "planner/query_shape.h"

#include <algorithm>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>
#include <pg_query.h>

namespace shardshift::planner {

namespace {

using nlohmann::json;

class Walker {
 public:
  explicit Walker(const std::map<std::string, std::set<std::string>>& columns_of) : columns_of_(columns_of) {}

  void Statement(const json& stmt, QueryShape& out) {
    if (stmt.contains("SelectStmt")) {
      out.statement = "select";
      Select(stmt["SelectStmt"]);
    } else if (stmt.contains("UpdateStmt")) {
      out.statement = "update";
      const json& u = stmt["UpdateStmt"];
      AddRange(u["relation"]);
      if (u.contains("fromClause")) From(u["fromClause"]);
      if (u.contains("whereClause")) Where(u["whereClause"]);
    } else if (stmt.contains("DeleteStmt")) {
      out.statement = "delete";
      const json& d = stmt["DeleteStmt"];
      AddRange(d["relation"]);
      if (d.contains("whereClause")) Where(d["whereClause"]);
    } else if (stmt.contains("InsertStmt")) {
      out.statement = "insert";
      AddRange(stmt["InsertStmt"]["relation"]);
    } else {
      out.statement = "other";
    }
    out.tables = tables_;
    out.params = params_;
    out.like_params = like_params_;
  }

 private:
  void Select(const json& s) {
    if (s.contains("larg")) Select(s["larg"]);  // UNION and friends: both sides
    if (s.contains("rarg")) Select(s["rarg"]);
    if (s.contains("fromClause")) From(s["fromClause"]);
    if (s.contains("whereClause")) Where(s["whereClause"]);
    if (s.contains("targetList")) {
      for (const json& t : s["targetList"]) {
        if (!t.contains("ResTarget") || !t["ResTarget"].contains("val")) continue;
        const json& v = t["ResTarget"]["val"];
        if (v.contains("ColumnRef")) {
          const json& fields = v["ColumnRef"]["fields"];
          if (!fields.empty() && fields.back().contains("A_Star")) {
            if (fields.size() == 1) {
              for (TableUse& u : tables_) AddOnce(u.selected, "*");
            } else if (TableUse* u = Table(fields[0]["String"]["sval"].get<std::string>())) {
              AddOnce(u->selected, "*");
            }
          } else if (auto c = Column(v)) {
            AddOnce(c->first->selected, c->second);
          }
        }
      }
    }
    if (s.contains("sortClause")) {
      for (const json& sb : s["sortClause"]) {
        if (!sb.contains("SortBy")) continue;
        const json& by = sb["SortBy"];
        if (auto c = Column(by["node"])) {
          SortColumn col{c->second, by.value("sortby_dir", "") == "SORTBY_DESC", false, ""};
          if (std::find(c->first->order_by.begin(), c->first->order_by.end(), col) == c->first->order_by.end()) {
            c->first->order_by.push_back(col);
          }
        }
      }
    }
  }

  void From(const json& list) {
    for (const json& item : list) FromItem(item);
  }
  void FromItem(const json& item) {
    if (item.contains("RangeVar")) {
      AddRange(item);
    } else if (item.contains("JoinExpr")) {
      const json& j = item["JoinExpr"];
      FromItem(j["larg"]);
      FromItem(j["rarg"]);
      if (j.contains("quals")) Where(j["quals"]);
    }
  }
  void AddRange(const json& node) {
    const json& rv = node.contains("RangeVar") ? node["RangeVar"] : node;
    std::string name = rv.value("relname", "");
    if (rv.contains("schemaname")) name = rv["schemaname"].get<std::string>() + "." + name;
    const std::string alias = rv.contains("alias") ? rv["alias"].value("aliasname", "") : "";
    size_t index = tables_.size();
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (tables_[i].table == name) index = i;
    }
    if (index == tables_.size()) {
      tables_.emplace_back();
      tables_.back().table = name;
    }
    aliases_[alias.empty() ? rv.value("relname", "") : alias] = index;
    if (!alias.empty()) aliases_[rv.value("relname", "")] = index;
  }

  TableUse* Table(const std::string& alias) {
    auto it = aliases_.find(alias);
    return it == aliases_.end() ? nullptr : &tables_[it->second];
  }

  // A column reference, resolved to its table.
  std::optional<std::pair<TableUse*, std::string>> Column(const json& node) {
    if (!node.contains("ColumnRef")) return std::nullopt;
    const json& fields = node["ColumnRef"]["fields"];
    std::vector<std::string> parts;
    for (const json& f : fields) {
      if (!f.contains("String")) return std::nullopt;
      parts.push_back(f["String"]["sval"].get<std::string>());
    }
    if (parts.size() >= 2) {
      TableUse* t = Table(parts[parts.size() - 2]);
      if (!t) return std::nullopt;
      return std::make_pair(t, parts.back());
    }
    if (parts.size() != 1) return std::nullopt;
    if (tables_.size() == 1) return std::make_pair(&tables_[0], parts[0]);
    TableUse* found = nullptr;
    for (TableUse& t : tables_) {
      auto it = columns_of_.find(t.table);
      if (it != columns_of_.end() && it->second.count(parts[0])) {
        if (found) return std::nullopt;  // ambiguous
        found = &t;
      }
    }
    if (!found) return std::nullopt;
    return std::make_pair(found, parts[0]);
  }

  static bool IsValue(const json& node) {
    return node.contains("ParamRef") || node.contains("A_Const") ||
           (node.contains("TypeCast") && IsValue(node["TypeCast"]["arg"])) || node.contains("FuncCall");
  }
  static std::string Literal(const json& node) {
    if (node.contains("TypeCast")) return Literal(node["TypeCast"]["arg"]);
    if (!node.contains("A_Const")) return "";
    const json& c = node["A_Const"];
    if (c.contains("sval")) {
      std::string s = c["sval"].value("sval", "");
      std::string quoted = "'";
      for (char ch : s) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
      return quoted + "'";
    }
    if (c.contains("ival")) return std::to_string(c["ival"].value("ival", 0));
    if (c.contains("boolval")) return c["boolval"].value("boolval", false) ? "true" : "false";
    if (c.contains("fval")) return c["fval"].value("fval", "");
    return "";
  }

  void Where(const json& node) {
    if (node.contains("BoolExpr")) {
      for (const json& arg : node["BoolExpr"]["args"]) Where(arg);
      return;
    }
    if (node.contains("NullTest")) {
      const json& n = node["NullTest"];
      if (auto c = Column(n["arg"])) {
        AddOnce(c->first->constant_filters,
                c->second + (n.value("nulltesttype", "") == "IS_NOT_NULL" ? " IS NOT NULL" : " IS NULL"));
      }
      return;
    }
    if (!node.contains("A_Expr")) return;
    const json& e = node["A_Expr"];
    const std::string kind = e.value("kind", "");
    const json& l = e.contains("lexpr") ? e["lexpr"] : json::object();
    const json& r = e.contains("rexpr") ? e["rexpr"] : json::object();
    std::string op;
    if (e.contains("name") && !e["name"].empty() && e["name"][0].contains("String")) {
      op = e["name"][0]["String"]["sval"].get<std::string>();
    }
    auto lc = Column(l);
    auto rc = Column(r);
    if (kind == "AEXPR_OP" && op == "=" && !lc && !rc) {  // lower(email) = $1: an expression index can serve it
      const bool left = l.contains("FuncCall");
      if (auto e = Expression(left ? l : r); e && IsValue(left ? r : l)) {
        AddOnce(e->first.first->expressions, e->second);
        NoteParams(left ? r : l, e->first);
      }
      return;
    }
    if (lc && rc && lc->first != rc->first) {  // a join condition
      AddOnce(lc->first->join, lc->second);
      AddOnce(rc->first->join, rc->second);
      return;
    }
    auto col = lc ? lc : rc;
    const json& other = lc ? r : l;
    if (!col) return;
    NoteParams(other, *col);
    if (kind == "AEXPR_LIKE" && op == "~~" && lc) {
      // LIKE 'abc%' reads a range of an index; '%abc' cannot. A parameter may be either: the
      // advisor measures it with a prefix.
      const std::string lit = Literal(r);
      if (r.contains("ParamRef")) {
        AddOnce(col->first->prefix, col->second);
        like_params_.insert(r["ParamRef"].value("number", 0));
      } else if (lit.size() > 2 && lit[1] != '%' && lit[1] != '_') {
        AddOnce(col->first->prefix, col->second);
      }
      return;
    }
    if (kind == "AEXPR_IN") {
      AddOnce(col->first->equality, col->second);
    } else if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      AddOnce(col->first->range, col->second);
    } else if (kind == "AEXPR_OP" && IsValue(other)) {
      if (op == "=") {
        AddOnce(col->first->equality, col->second);
        if (std::string lit = Literal(other); !lit.empty()) AddOnce(col->first->constant_filters, col->second + " = " + lit);
      } else if (op == "<" || op == ">" || op == "<=" || op == ">=") {
        AddOnce(col->first->range, col->second);
      }
    }
  }

  // f(column) of an immutable function an expression index can hold: (the column, "f(\"column\")").
  std::optional<std::pair<std::pair<TableUse*, std::string>, std::string>> Expression(const json& node) {
    if (!node.contains("FuncCall")) return std::nullopt;
    const json& f = node["FuncCall"];
    if (!f.contains("funcname") || f["funcname"].size() != 1 || !f.contains("args") || f["args"].size() != 1) {
      return std::nullopt;
    }
    const std::string name = f["funcname"][0]["String"].value("sval", "");
    static const std::set<std::string> kIndexable = {"lower", "upper", "btrim", "md5", "date", "abs"};
    if (!kIndexable.count(name)) return std::nullopt;
    auto c = Column(f["args"][0]);
    if (!c) return std::nullopt;
    std::string quoted = "\"";
    for (char ch : c->second) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return std::make_pair(*c, name + "(" + quoted + "\")");
  }

  void NoteParams(const json& node, const std::pair<TableUse*, std::string>& col) {
    if (node.contains("ParamRef")) {
      params_[node["ParamRef"].value("number", 0)] = {col.first->table, col.second};
    } else if (node.contains("TypeCast")) {
      NoteParams(node["TypeCast"]["arg"], col);
    } else if (node.contains("List")) {
      for (const json& item : node["List"]["items"]) NoteParams(item, col);
    }
  }

  static void AddOnce(std::vector<std::string>& list, const std::string& v) {
    if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
  }

  const std::map<std::string, std::set<std::string>>& columns_of_;
  std::vector<TableUse> tables_;
  std::map<std::string, size_t> aliases_;
  std::map<int, std::pair<std::string, std::string>> params_;
  std::set<int> like_params_;
};

}  // namespace

QueryShape AnalyzeQuery(const std::string& sql, const std::map<std::string, std::set<std::string>>& columns_of) {
  QueryShape out;
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    out.error = parsed.error->message;
    pg_query_free_parse_result(parsed);
    return out;
  }
  json tree = json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  if (!tree.contains("stmts") || tree["stmts"].empty()) {
    out.error = "no statement";
    return out;
  }
  Walker walker(columns_of);
  walker.Statement(tree["stmts"][0]["stmt"], out);
  out.ok = true;
  return out;
}

std::optional<std::vector<std::string>> ExpressionColumns(const std::string& expression, std::string& error) {
  const std::string sql = "SELECT (" + expression + ")";
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    error = parsed.error->message;
    pg_query_free_parse_result(parsed);
    return std::nullopt;
  }
  json tree = json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  const json& stmts = tree["stmts"];
  if (stmts.size() != 1 || !stmts[0]["stmt"].contains("SelectStmt") ||
      stmts[0]["stmt"]["SelectStmt"].contains("fromClause") || stmts[0]["stmt"]["SelectStmt"]["targetList"].size() != 1) {
    error = "not a single expression";
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_object()) {
      if (j.contains("ColumnRef")) {
        const json& fields = j["ColumnRef"]["fields"];
        if (!fields.empty() && fields.back().contains("String")) {
          const std::string name = fields.back()["String"].value("sval", "");
          if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
        }
        return;
      }
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(stmts[0]["stmt"]["SelectStmt"]["targetList"]);
  return out;
}

}  // namespace shardshift::planner

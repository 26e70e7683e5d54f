#include "cmd/inspect.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "db/connection.h"
#include "planner/inspector.h"

namespace shardshift::cmd {

void SetupInspectCommand(CLI::App& app, InspectOptions& options) {
  CLI::App* sub = app.add_subcommand("inspect", "Show a database's schema as shardshift sees it");
  sub->add_option("--db", options.database, "Database name from the config")->required();
  sub->add_option("--table", options.table, "One table ([schema.]name)");
  sub->add_flag("--json", options.json, "Print JSON for machines");
}

int RunInspect(const GlobalOptions& globals, const InspectOptions& options) {
  plans::Config config = LoadConfigFile(globals);
  db::Catalog catalog = MakeCatalog(config);
  planner::EngineSchemaReader reader(catalog);
  db::TableName table = db::TableName::Parse(options.table);
  db::SchemaInfo schema = reader.Read(options.database, db::IntrospectOptions{table.schema, table.name, true});
  if (options.json) {
    std::cout << db::ToJson(schema).dump(2) << "\n";
  } else {
    std::cout << db::RenderText(schema);
  }
  return 0;
}

}  // namespace shardshift::cmd

// The shadow-table rebuild: how an index is built where the engine has no online way to build it
// (a MariaDB table whose storage engine cannot ADD INDEX with LOCK=NONE, such as Aria or MyISAM),
// or where the spec asks for it (`build = "shadow"`). A new table of the same definition plus the
// new indexes is created beside the old one, filled online by the machinery of the other copying
// kinds (capture, backfill, replay, verify), and swapped in by name while writes are blocked for a
// moment; the old table stays until `apply --cleanup`, so the swap can be undone.
//
// The steps carry params["shadow"] = "<database>/<table>": the create_index runner applies each such
// group with the copy runner (executors::Runner), whose cutover performs the swap.
#pragma once

#include <string>
#include <vector>

#include "db/catalog.h"
#include "db/connection.h"
#include "db/schema.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

struct ShadowNames {
  db::TableName shadow;  // the new table while it is filled
  db::TableName old;     // the old table after the swap, until cleanup
};
ShadowNames ShadowNamesFor(const db::TableInfo& table);

// The steps that rebuild table (as schema shows it, on database) with the extra indexes. Refuses
// (plans::InputError at the first index's entry, field "build") what a rebuild by name cannot carry
// over: foreign keys to or from the table, the user's triggers, PostgreSQL views on it (they follow
// the old table), identity columns and partitioned tables on PostgreSQL, a table without a key.
// Adds what a reviewer should know to warnings. Capture as [options] capture chooses (the log
// where the server allows it, as for a reshard; catalog reaches the server to check).
std::vector<plans::Step> PlanShadowRebuild(const plans::Spec& spec, const db::Catalog& catalog,
                                           const std::string& database, db::Engine engine,
                                           const db::SchemaInfo& schema, const db::TableInfo& table,
                                           const std::vector<const plans::IndexSpec*>& indexes,
                                           std::vector<std::string>& warnings);

}  // namespace shardshift::planner

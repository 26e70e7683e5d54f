// Plans a vertical split: some columns of a table move into new tables keyed by the same key, on
// the same database or others, while the application keeps writing (expand, then contract).
// Checks against the live schema: the table exists, the key is its primary key or a unique key of
// NOT NULL columns, every named column exists, the columns not named stay (or `keep` names them
// all), the new tables are absent or already in exactly the planned shape (a resumed run), and no
// foreign key involves a moved column unless the spec says to drop it at contract.
//
// Steps: create_table.<db>.<table> (with capture of its changes for the way back and, unless
// fence = false, a fence until the switch), capture.<src>, backfill.<src>, replay.<src>, verify,
// expand_complete (the new tables are complete and kept current: the application may read them;
// the compatibility view, if asked, is created here), switch (writes blocked briefly, the
// changelog drained and checked, the moved columns fenced on the source and the new tables
// unfenced: the application moves its writes of the moved columns to the new tables), then the
// cleanup steps that apply --cleanup runs and that end the window for apply --revert:
// stop_capture.<src>, cleanup.<db>.<table> (the way back's capture) and contract.<src> when asked.
// Read-only.
//
// Step params add to the reshard's: outputs, a JSON array of {database, table, columns,
// target_columns} (source names and new names, key first); on the switch, target_sides (per new
// tables' database: block_sql, fence, unfence, triggers as [table, trigger]) and way_back (per new
// table: database, table, changelog).
#pragma once

#include "db/catalog.h"
#include "planner/inspector.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// Throws plans::InputError (spec at fault, located in the spec) or db::Error.
plans::Plan PlanVerticalSplit(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader);

}  // namespace shardshift::planner

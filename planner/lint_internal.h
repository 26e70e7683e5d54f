// Shared by the linters of each kind of file (lint.cc, lint_postgres.cc); not part of the API.
#pragma once

#include <set>
#include <string>

#include "planner/lint.h"

namespace shardshift::planner::lint_detail {

// The rule with this id (LintRules()); the first rule when there is none (ids are constants).
const LintRule& Rule(const std::string& id);

// Rules whose harm grows with the table: --db grades them by its size, and a table the same file
// created (nothing else uses it yet) is exempt.
bool SizeGraded(const std::string& id);

// Rule ids disabled by `shardshift-lint: <directive> A, B` comments in text.
std::set<std::string> Disabled(const std::string& text, const std::string& directive);

// The rules a statement's `shardshift-lint: disable` comments turn off: comments in its text
// [start, end), on the line before it, or on the rest of its last line.
std::set<std::string> DisabledAround(const std::string& text, size_t start, size_t end);

// The first byte of a statement's own text: past the whitespace and comments before it.
size_t StatementStart(const std::string& text, size_t from, size_t to);

}  // namespace shardshift::planner::lint_detail

// What lint needs of a file's text before any rule reads it: positions in lines and characters
// found in time that does not grow with the file (an index of line starts, not a count from the
// first byte per finding), the refusal of what is not text (a NUL byte, invalid UTF-8) at its line
// and column, and psql's own lines (meta-commands, COPY … FROM stdin data) set aside so that the
// SQL around them still parses.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace shardshift::planner {

class TextIndex {
 public:
  explicit TextIndex(const std::string& text);
  // 1-based line and column of a byte offset; the column counts characters (UTF-8), not bytes.
  std::pair<int, int> Position(size_t offset) const;

 private:
  const std::string& text_;
  std::vector<size_t> line_starts_;
};

// Throws plans::InputError at file:line:column for a NUL byte or a byte sequence that is not UTF-8.
void CheckIsText(const std::string& text, const std::string& file);

// A line psql handles itself, blanked for the parser.
struct SkippedLine {
  int line = 0;
  std::string what;  // "\set", "COPY data"
};

// psql input: a line whose first non-blank character is a backslash (a meta-command: \set,
// \i, \connect, the \. that ends COPY data) and the data lines after `COPY … FROM stdin;` are
// replaced by spaces (offsets stay, so positions do too). Returns what it skipped.
std::vector<SkippedLine> BlankPsqlLines(std::string& text);

}  // namespace shardshift::planner

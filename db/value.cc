#include "db/value.h"

#include <stdexcept>

namespace shardshift::db {

size_t Chunk::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  throw std::out_of_range("no column '" + std::string(name) + "' in the result");
}

const Value& ResultSet::At(size_t row, std::string_view column) const {
  return rows.at(row).at(ColumnIndex(column));
}

const std::string& ResultSet::Text(size_t row, std::string_view column) const {
  const Value& v = At(row, column);
  if (!v) throw std::runtime_error("column '" + std::string(column) + "' is NULL");
  return *v;
}

}  // namespace shardshift::db

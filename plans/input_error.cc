#include "plans/input_error.h"

namespace shardshift::plans {

std::string SourcePos::ToString() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

namespace {
std::string Compose(const SourcePos& pos, const std::string& field, const std::string& message) {
  std::string out = pos.ToString() + ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  return out + message;
}
}  // namespace

InputError::InputError(SourcePos pos, std::string field, const std::string& message)
    : std::runtime_error(Compose(pos, field, message)),
      pos_(std::move(pos)),
      field_(std::move(field)),
      reason_(message) {}

}  // namespace shardshift::plans

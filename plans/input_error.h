// Bad input: a file that cannot be read, parsed or validated, or a value the user wrote that makes
// no sense. The command line maps it to exit code 2. Its message always names where the problem is.
#pragma once

#include <stdexcept>
#include <string>

namespace shardshift::plans {

// Where a value sits in a file the user wrote. line and column are 1-based; 0 means unknown.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column", or less where less is known.
  std::string ToString() const;
};

class InputError : public std::runtime_error {
 public:
  // field is the dotted path of the offending key ("reshard.target.databases"), empty when the
  // problem is the file as a whole.
  InputError(SourcePos pos, std::string field, const std::string& message);

  const SourcePos& pos() const { return pos_; }
  const std::string& field() const { return field_; }
  // The message without the position and field prefix.
  const std::string& reason() const { return reason_; }

 private:
  SourcePos pos_;
  std::string field_;
  std::string reason_;
};

}  // namespace shardshift::plans

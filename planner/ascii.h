// Case folding of ASCII letters (SQL keywords and unquoted identifiers); other bytes are kept.
#pragma once

#include <cctype>
#include <string>

namespace shardshift::planner {

inline std::string AsciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline std::string AsciiUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace shardshift::planner

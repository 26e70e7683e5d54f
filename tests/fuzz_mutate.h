// The mutation fuzzer's one mutation of a TOML text (issue 16), shared by the in-process fuzz test of
// the readers (tests/unit/plans/fuzz_test.cc) and the command-line one against the sandbox
// (tests/integration/hostile_input_test.cc): a line deleted, repeated, swapped, cut short,
// bracketed, a key renamed or deepened to 40,000 parts, a value replaced by a hostile one.
#pragma once

#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace shardshift::testing {

// Hostile values a user (or a fuzzer) might write where a value goes.
inline const std::vector<std::string> kHostileValues = {
    "9223372036854775807", "-9223372036854775808", "-1", "0", "nan", "inf", "-inf", "1e308", "\"\"",
    "\"\\u0000\"", "\"" + std::string(10'000, 'x') + "\"", "[]", "{}", "true", "\"$shardshift$\"", "\"a\\\"b\"",
    "1979-05-27T07:32:00Z", "[[[[[[[[[[1]]]]]]]]]]", "\"_ss_id\"", "\"../../etc/passwd\"", "\"\\u0007\"",
};

inline std::string MutateToml(const std::string& text, std::mt19937& rng) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  if (lines.empty()) return text;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const size_t at = pick(lines.size());
  std::string& line = lines[at];
  switch (rng() % 9) {
    case 0: lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at)); break;
    case 1: lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line); break;
    case 2: std::swap(line, lines[pick(lines.size())]); break;
    case 3: {  // a value replaced
      const size_t eq = line.find(" = ");
      if (eq != std::string::npos) line = line.substr(0, eq + 3) + kHostileValues[pick(kHostileValues.size())];
      break;
    }
    case 4: line = line.substr(0, pick(line.size() + 1)); break;  // cut short
    case 5: {                                                     // a key deepened
      std::string deep = "a";
      for (int i = 0; i < 40'000; ++i) deep += ".a";
      line = deep + " = 1";
      break;
    }
    case 6: line += std::string(1, "[]{}\"'=#.,\\"[pick(11)]); break;
    case 7: {  // a key renamed
      const size_t eq = line.find(" = ");
      if (eq != std::string::npos && eq > 0) line[pick(eq)] = static_cast<char>('a' + pick(26));
      break;
    }
    default: lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), "[" + line + "]"); break;
  }
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

}  // namespace shardshift::testing

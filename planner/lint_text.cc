#include "planner/lint_text.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "planner/ascii.h"
#include "plans/input_error.h"

namespace shardshift::planner {

TextIndex::TextIndex(const std::string& text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t i = text.find('\n'); i != std::string::npos; i = text.find('\n', i + 1)) line_starts_.push_back(i + 1);
}

std::pair<int, int> TextIndex::Position(size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
  int column = 1;
  for (size_t i = *it; i < offset; ++i) {
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;  // not a continuation byte
  }
  return {static_cast<int>(it - line_starts_.begin()) + 1, column};
}

void CheckIsText(const std::string& text, const std::string& file) {
  const TextIndex index(text);
  auto refuse = [&](size_t at, const std::string& why) {
    const auto [line, column] = index.Position(at);
    throw plans::InputError(plans::SourcePos{file, line, column}, "", why);
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) refuse(i, "holds a NUL byte: not a text file (nothing after it would be read)");
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The length a lead byte announces, and the smallest value that length may encode (no overlong
    // forms), per RFC 3629.
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t least = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, least = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, least = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, least = 0x10000;
    } else {
      refuse(i, fmt::format("is not UTF-8 (byte 0x{:02X}); save the file as UTF-8", c));
    }
    if (i + n > text.size()) refuse(i, "is not UTF-8 (a character cut off at the end of the file)");
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) refuse(i, fmt::format("is not UTF-8 (byte 0x{:02X} after 0x{:02X})", b, c));
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      refuse(i, "is not UTF-8 (an overlong or out-of-range sequence)");
    }
    i += n;
  }
}

namespace {

// Does a line end a `COPY … FROM stdin` statement (pg_dump's form: the statement on one line)?
bool StartsCopyData(const std::string& line) {
  std::string l = AsciiLower(line);
  while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.pop_back();
  const size_t first = l.find_first_not_of(" \t");
  return first != std::string::npos && l.compare(first, 5, "copy ") == 0 && l.ends_with(";") &&
         (l.find(" from stdin") != std::string::npos);
}

}  // namespace

std::vector<SkippedLine> BlankPsqlLines(std::string& text) {
  std::vector<SkippedLine> out;
  bool in_copy = false;
  int line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string line = text.substr(start, end - start);
    const size_t first = line.find_first_not_of(" \t\r");
    auto blank = [&](const std::string& what) {
      std::fill(text.begin() + static_cast<std::ptrdiff_t>(start), text.begin() + static_cast<std::ptrdiff_t>(end), ' ');
      if (out.empty() || out.back().what != what || what != "COPY data") out.push_back({line_no, what});
    };
    if (in_copy) {
      if (line.substr(first == std::string::npos ? 0 : first).starts_with("\\.")) in_copy = false;
      blank("COPY data");
    } else if (first != std::string::npos && line[first] == '\\') {
      size_t word_end = line.find_first_of(" \t\r", first);
      blank(line.substr(first, word_end == std::string::npos ? std::string::npos : word_end - first));
    } else if (StartsCopyData(line)) {
      in_copy = true;
      // The statement itself stays: the parser reads it (a COPY takes no lock lint is about).
    }
    start = end + 1;
  }
  return out;
}

}  // namespace shardshift::planner

#include "db/url.h"

#include <algorithm>

#include <cstdlib>

#include "db/error.h"

namespace shardshift::db {

std::string_view EngineName(Engine engine) {
  return engine == Engine::kPostgres ? "postgres" : "mysql";
}

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string ExpandEnv(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += '$';
      continue;
    }
    size_t end = text.find('}', i + 2);
    if (end == std::string_view::npos) {
      throw Error(ErrorKind::kBadInput, "unterminated ${ in '" + std::string(text.substr(0, i)) +
                                            "...': write ${NAME}");
    }
    std::string name(text.substr(i + 2, end - i - 2));
    if (name.empty()) throw Error(ErrorKind::kBadInput, "empty ${} reference");
    std::optional<std::string> value = lookup(name);
    if (!value) {
      throw Error(ErrorKind::kBadInput, "environment variable " + name + " is not set");
    }
    out += *value;
    i = end;
  }
  return out;
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s, const std::string& what, const std::string& shown) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 2 < s.size() ? HexDigit(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        throw Error(ErrorKind::kBadInput, "bad percent-escape in the " + what + " of " + shown);
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A version of the raw text safe to show in an error, whether or not it parses: everything between
// "://" and the last "@" of the whole text is the user information (a password may hold a raw "/",
// "?" or "@"), shown as the user name alone; a "password=" option's value is hidden too. Where the
// text is ambiguous this hides more than needed, never less.
std::string RedactRaw(std::string_view text) {
  std::string out;
  size_t start = text.find("://");
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) {
    out = text;
  } else if (start == std::string_view::npos || at < start) {
    out = "***" + std::string(text.substr(at));  // no scheme: it may still hold user:password@
  } else {
    const size_t auth_begin = start + 3;
    std::string_view userinfo = text.substr(auth_begin, at - auth_begin);
    const size_t colon = userinfo.find(':');
    out = std::string(text.substr(0, auth_begin)) + std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) out += ":***";
    out += text.substr(at);
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const size_t value = p + 9;
    const size_t end = out.find('&', value);
    out.replace(value, end == std::string::npos ? std::string::npos : end - value, "***");
  }
  return out;
}

}  // namespace

std::string PgpassLine(const ConnectionUrl& url) {
  std::string password;
  for (char c : url.password) {
    if (c == ':' || c == '\\') password += '\\';
    password += c;
  }
  return "*:*:*:*:" + password + "\n";
}

std::string MariadbClientOptions(const ConnectionUrl& url) {
  auto quoted = [](const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
      }
    }
    return out + "\"";
  };
  return "[client]\nuser=" + quoted(url.user) + "\npassword=" + quoted(url.password) +
         "\nhost=" + quoted(url.host.empty() ? "127.0.0.1" : url.host) + "\nport=" +
         std::to_string(url.PortOrDefault()) + "\n";
}

int ConnectionUrl::PortOrDefault() const {
  if (port != 0) return port;
  return engine == Engine::kPostgres ? 5432 : 3306;
}

std::string ConnectionUrl::Redacted() const {
  std::string out = scheme + "://";
  if (!user.empty() || !password.empty()) {
    out += PercentEncode(user);
    if (!password.empty()) out += ":***";
    out += "@";
  }
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0) out += ":" + std::to_string(port);
  if (!database.empty()) out += "/" + PercentEncode(database);
  char sep = '?';
  for (const auto& [k, v] : options) {
    out += sep;
    out += k + "=" + (k.find("password") != std::string::npos ? "***" : v);
    sep = '&';
  }
  return out;
}

ConnectionUrl ParseUrl(std::string_view text) {
  const std::string shown = RedactRaw(text);
  const bool raw_at = std::count(text.begin(), text.end(), '@') > 1;
  auto fail = [&](const std::string& why) -> Error {
    return Error(ErrorKind::kBadInput,
                 "invalid database URL " + shown + ": " + why +
                     (raw_at ? " (a password holding '@', '/', '?', '#' or ':' must percent-encode them: %40, %2F, "
                               "%3F, %23, %3A)"
                             : ""));
  };
  ConnectionUrl url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    throw fail("expected scheme://host/database with scheme postgres, postgresql, mysql or mariadb");
  }
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme == "postgres" || url.scheme == "postgresql") {
    url.engine = Engine::kPostgres;
  } else if (url.scheme == "mysql" || url.scheme == "mariadb") {
    url.engine = Engine::kMySQL;
  } else {
    throw fail("unknown scheme '" + url.scheme +
               "' (expected postgres, postgresql, mysql or mariadb)");
  }
  std::string_view rest = text.substr(sep + 3);
  size_t query_pos = rest.find('?');
  std::string_view query =
      query_pos == std::string_view::npos ? std::string_view() : rest.substr(query_pos + 1);
  rest = rest.substr(0, query_pos);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.database = PercentDecode(rest.substr(slash + 1), "database name", shown);
    if (url.database.find('/') != std::string::npos) throw fail("the database name contains '/'");
  }
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    url.user = PercentDecode(userinfo.substr(0, colon), "user name", shown);
    if (colon != std::string_view::npos) {
      url.password = PercentDecode(userinfo.substr(colon + 1), "password", shown);
    }
    authority = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) throw fail("unterminated [ in the host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw fail("unexpected text after ]");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty() || authority.ends_with(":")) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) throw fail("port is not a number from 1 to 65535");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) throw fail("port is not a number from 1 to 65535");
    url.port = port;
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) throw fail("query options must be key=value");
    url.options.emplace_back(PercentDecode(pair.substr(0, eq), "option name", shown),
                             PercentDecode(pair.substr(eq + 1), "option value", shown));
  }
  bool host_in_options = false;
  for (const auto& [k, v] : url.options) host_in_options = host_in_options || k == "host";
  if (url.host.empty() && !host_in_options) throw fail("no host");
  return url;
}

}  // namespace shardshift::db

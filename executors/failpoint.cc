#include "executors/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace shardshift::executors {

namespace {

struct Target {
  std::string name;
  long pass = 1;
};

const Target* Configured() {
  static const Target* target = [] () -> const Target* {
    const char* v = std::getenv("SHARDSHIFT_KILL_AT");
    if (v == nullptr || *v == '\0') return nullptr;
    auto* t = new Target;
    std::string s = v;
    if (auto colon = s.find(':'); colon != std::string::npos) {
      t->name = s.substr(0, colon);
      t->pass = std::strtol(s.c_str() + colon + 1, nullptr, 10);
    } else {
      t->name = s;
    }
    return t;
  }();
  return target;
}

}  // namespace

void KillPoint(const char* name) {
  const Target* t = Configured();
  if (t == nullptr || t->name != name) return;
  static std::atomic<long> passes{0};
  if (++passes < t->pass) return;
  spdlog::warn("SHARDSHIFT_KILL_AT={}: killing this process", name);
  spdlog::default_logger()->flush();
  ::kill(::getpid(), SIGKILL);
}

}  // namespace shardshift::executors

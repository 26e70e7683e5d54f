#include "executors/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

namespace shardshift::executors {

namespace {

struct Target {
  std::string name;
  long pass = 1;
};

const Target* Parse(const char* variable) {
  const char* v = std::getenv(variable);
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
}

const Target* Configured() {
  static const Target* target = Parse("SHARDSHIFT_KILL_AT");
  return target;
}

const Target* PauseConfigured() {
  static const Target* target = Parse("SHARDSHIFT_PAUSE_AT");
  return target;
}

// SHARDSHIFT_PAUSE_AT=POINT[:N] with SHARDSHIFT_PAUSE_FILE=PATH: at the point, the file is created
// and the thread waits until it is removed (at most 60 s): a test acts while the run stands there.
void Pause(const char* name) {
  const Target* t = PauseConfigured();
  if (t == nullptr || t->name != name) return;
  static std::atomic<long> passes{0};
  if (++passes != t->pass) return;
  const char* file = std::getenv("SHARDSHIFT_PAUSE_FILE");
  if (file == nullptr || *file == '\0') return;
  spdlog::warn("SHARDSHIFT_PAUSE_AT={}: pausing until {} is removed", name, file);
  std::ofstream(file) << "paused\n";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::filesystem::exists(file) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

void KillPoint(const char* name) {
  Pause(name);
  const Target* t = Configured();
  if (t == nullptr || t->name != name) return;
  static std::atomic<long> passes{0};
  if (++passes < t->pass) return;
  spdlog::warn("SHARDSHIFT_KILL_AT={}: killing this process", name);
  spdlog::default_logger()->flush();
  ::kill(::getpid(), SIGKILL);
}

}  // namespace shardshift::executors

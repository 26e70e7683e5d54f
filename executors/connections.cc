#include "executors/connections.h"

namespace shardshift::executors {

Connections::Connections(const db::Catalog& catalog, int lock_timeout_ms)
    : catalog_(catalog), lock_timeout_ms_(lock_timeout_ms) {}

db::Connection& Connections::Get(const std::string& name, int slot) {
  auto it = open_.find({name, slot});
  if (it != open_.end() && it->second->Usable()) return *it->second;
  auto conn = catalog_.Connect(name);
  conn->SetLockTimeout(lock_timeout_ms_);
  db::Connection& ref = *conn;
  open_[{name, slot}] = std::move(conn);
  return ref;
}

std::vector<db::Connection*> Connections::Get(const std::vector<std::string>& names) {
  std::vector<db::Connection*> out;
  for (const std::string& n : names) out.push_back(&Get(n));
  return out;
}

void Connections::Reset() { open_.clear(); }

}  // namespace shardshift::executors

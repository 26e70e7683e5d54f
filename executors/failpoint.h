// Kill points, for the tests that prove resumability: when the environment variable
// SHARDSHIFT_KILL_AT names a point ("cutover.blocked", or "backfill.chunk:3" for its third pass),
// the process sends itself SIGKILL there, a crash at an exact place. Unset, a kill point costs a
// getenv on first use. Documented in docs/resharding.md; never set it against production.
#pragma once

namespace shardshift::executors {

void KillPoint(const char* name);

}  // namespace shardshift::executors

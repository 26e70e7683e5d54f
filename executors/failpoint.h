// Kill points, for the tests that prove resumability: when the environment variable
// SHARDSHIFT_KILL_AT names a point ("cutover.blocked", or "backfill.chunk:3" for its third pass),
// the process sends itself SIGKILL there, a crash at an exact place. Unset, a kill point costs a
// getenv on first use. Documented in docs/resharding.md; never set it against production.
// SHARDSHIFT_PAUSE_AT=POINT[:N] with SHARDSHIFT_PAUSE_FILE=PATH pauses there instead: the file is
// created and the run waits until it is removed (at most 60 s), for a test to act meanwhile.
#pragma once

namespace shardshift::executors {

void KillPoint(const char* name);

}  // namespace shardshift::executors

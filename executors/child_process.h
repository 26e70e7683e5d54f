// What every program shardshift starts (a hook, mariadb-dump, pg_basebackup, pg_ctl) gets between
// fork and exec, so that a killed run leaves nothing of its own behind:
// - no descriptor of ours survives the exec but stdin, stdout, stderr and the one it is handed
//   (`keep`, e.g. an option file in memory): a child that outlives us holds none of our database
//   sessions, and so none of our locks (a MariaDB GET_LOCK lives as long as its socket);
// - it receives SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a SIGKILL of
//   shardshift takes mariadb-dump | mariadb with it. Start children only from a thread that waits
//   for them. A server pg_ctl starts is pg_ctl's child, not ours, and does not inherit this.
// Everything here is async-signal-safe: the parent has other threads.
#pragma once

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace shardshift::executors {

// Call in the child, after any change of user (a change of credentials clears the death signal).
// parent: getpid() of the parent, taken before the fork.
inline void PrepareChild(pid_t parent, int keep = -1) {
  auto cloexec = [](unsigned from, unsigned to) {
    if (from > to) return;
    if (::syscall(SYS_close_range, from, to, CLOSE_RANGE_CLOEXEC) != 0) {  // kernels before 5.11
      const long max = std::min<long>(::sysconf(_SC_OPEN_MAX), 65536);
      for (long fd = from; fd < max && fd <= static_cast<long>(to); ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    }
  };
  if (keep >= 3) {
    cloexec(3, static_cast<unsigned>(keep) - 1);
    cloexec(static_cast<unsigned>(keep) + 1, ~0U);
    ::fcntl(keep, F_SETFD, 0);
  } else {
    cloexec(3, ~0U);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
}

}  // namespace shardshift::executors

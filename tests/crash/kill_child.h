// The crash tests' step: fork a child that runs until killed and reports through a pipe, SIGKILL it after a delay,
// and return what it reported. The child must never return (it _exits on error); a child that stopped by itself is
// a test failure.
#pragma once
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace convstore::testing {

// child(fd) writes its reports to fd; it is killed `delay_us` after the fork.
template <typename Child>
std::string RunAndKill(Child child, useconds_t delay_us) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    ::_exit(99);  // a child is not meant to return
  }
  ::close(fds[1]);
  ::usleep(delay_us);
  ::kill(pid, SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself with exit code " << WEXITSTATUS(status);
  std::string reports;
  char buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) reports.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  return reports;
}

}  // namespace convstore::testing

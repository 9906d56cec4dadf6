#pragma once
// Threads of tactd's parts, each an object with its own stop: a part's Run() loop (RunThread) and a periodic task
// (PeriodicThread, the health and policy-reload check).

#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace tact::app {

// Runs part.Run() on its own thread until part.RequestStop(). RequestStop() and Join() are separate so that
// several parts drain at once; the destructor does both. Thread-safety: RequestStop/Join from one thread.
class RunThread {
 public:
  template <typename Part>
  RunThread(std::string name, Part& part)
      : name_(std::move(name)), request_stop_([&part] { part.RequestStop(); }), thread_([&part] { part.Run(); }) {}
  ~RunThread() {
    RequestStop();
    Join();
  }
  RunThread(const RunThread&) = delete;
  RunThread& operator=(const RunThread&) = delete;

  const std::string& name() const { return name_; }
  void RequestStop() { request_stop_(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::string name_;
  std::function<void()> request_stop_;
  std::thread thread_;
};

// Calls `tick` at once and then every `interval` on its own thread until Stop() (or destruction), which wakes
// it and joins. Thread-safety: Stop from one thread; `tick` runs only on this object's thread.
class PeriodicThread {
 public:
  PeriodicThread(absl::Duration interval, std::function<void()> tick)
      : thread_([this, interval, tick = std::move(tick)] {
          do {
            tick();
          } while (!stopping_.WaitForNotificationWithTimeout(interval));
        }) {}
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Stop() {
    if (!thread_.joinable()) return;
    stopping_.Notify();
    thread_.join();
  }

 private:
  absl::Notification stopping_;  // declared before thread_: the thread waits on it
  std::thread thread_;
};

}  // namespace tact::app

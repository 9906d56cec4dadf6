#pragma once

// The Redis Cluster the tests of tact_cluster_tests share: 3 masters + 3 replicas made once for the binary
// (ctest runs the binary as one test: tests/CMakeLists.txt); main() in redis_cluster_store_test.cc registers it.
#include <gtest/gtest.h>

#include <memory>

#include "tests/support/process.h"
#include "tests/support/redis_cluster.h"

namespace tact {

class ClusterEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    dir = std::make_unique<testing::TempDir>();
    nodes = std::make_unique<testing::RedisClusterNodes>(dir->path());
  }
  void TearDown() override {
    nodes.reset();
    dir.reset();
  }
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<testing::RedisClusterNodes> nodes;
};
inline ClusterEnv* env = nullptr;

}  // namespace tact

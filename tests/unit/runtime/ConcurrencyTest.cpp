//===- ConcurrencyTest.cpp - one module run by many threads ---------------===//
//
// Runs from several threads, rebinding while they run, and the soak: a real compiled
// module (BLOCKC_SOAK_MODULE, compiled by the soak_module test) run by 8 threads on random
// batch sizes while its weights are rebound and other copies are loaded and freed. Built on
// its own so that the ThreadSanitizer build (tools/test-sanitized.sh) needs only the
// runtime; the AddressSanitizer build runs it too, for its leak check.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "blockc/runtime.h"
#include "blockc/runtime.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

using namespace blockc_test;

namespace {

using ConcurrencyTest = FixtureModuleTest;

TEST_F(ConcurrencyTest, ConcurrentRuns) {
  blockc::Module m = boundFixture();
  constexpr int kThreads = 8, kRuns = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        const int64_t batch = 1 + (t + r) % 5;
        std::vector<float> x = iota(static_cast<size_t>(batch * 32), float(t * 1000 + r), 0.5f);
        std::vector<float> y(x.size());
        if (blockc_module_run(m.get(), x.data(), batch, y.data()) != BLOCKC_OK ||
            y != fixtureExpected(x))
          ++failures;
        if (r % 50 == 0) { // errors on some threads while others run
          std::vector<float> bad = x;
          bad[0] = -999.0f;
          if (blockc_module_run(m.get(), bad.data(), batch, y.data()) != BLOCKC_ERROR_KERNEL ||
              std::string(blockc_last_error()).find("poisoned input") == std::string::npos)
            ++failures;
        }
      }
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
}

// Rebinding while other threads run is safe: each run uses one binding whole (the old
// weights or the new, never a mix), bind does not wait for the runs in flight (a stream of
// runs cannot starve it), and every run that starts after bind returns uses the new weights.
TEST_F(ConcurrencyTest, RebindWhileRunning) {
  blockc::Module m = boundFixture();
  const std::vector<float> newScale = {3, 3, 3, 3, -3, -3, -3, -3};
  const std::string newWeights =
      writeFile("new.safetensors", safetensorsFile({{"scale", "F32", {8}, floatBytes(newScale)},
                                                    {"bias", "F32", {8}, floatBytes(fixtureBias())},
                                                    {"counter", "I64", {}, std::string(8, '\0')}}));
  std::atomic<bool> rebound{false};
  std::atomic<int> failures{0}, oldRuns{0}, newRuns{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      // Until 50 runs of this thread started after the rebind (bounded in count).
      for (int r = 0, after = 0; after < 50 && r < 1000000; ++r) {
        const bool afterRebind = rebound.load();
        after += afterRebind;
        std::vector<float> x = iota(64, float(t * 1000 + r), 0.5f), y(x.size());
        if (blockc_module_run(m.get(), x.data(), 2, y.data()) != BLOCKC_OK) {
          ++failures;
        } else if (y == fixtureExpected(x, newScale)) {
          ++newRuns;
        } else if (y == fixtureExpected(x) && !afterRebind) {
          ++oldRuns;
        } else {
          ++failures;
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  m.bindWeights(newWeights);
  rebound = true;
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(newRuns.load(), 0);
  std::vector<float> x = iota(32), y(32);
  ASSERT_EQ(blockc_module_run(m.get(), x.data(), 1, y.data()), BLOCKC_OK);
  EXPECT_EQ(y, fixtureExpected(x, newScale));
}


//===----------------------------------------------------------------------===//
// The soak
//===----------------------------------------------------------------------===//

/// BLOCKC_SOAK_RUNS: runs per thread (CI's size by default; longer by hand).
int soakRuns() {
  const char *text = std::getenv("BLOCKC_SOAK_RUNS");
  return text && std::atoi(text) > 0 ? std::atoi(text) : 40;
}

/// One run of the soak: its batch, input and the serial run's output under each weight set.
struct SoakCase {
  int64_t batch = 1;
  std::vector<float> input;
  std::vector<float> expected[2];
};

// 8 threads run one module on random batch sizes while another thread rebinds it, in turn,
// to two weight files, and another loads copies of the module, binds, runs and frees them.
// Every output must be bitwise the serial run's for the same input under a weight set that
// was bound at some moment of the run; the run must not fail, deadlock (ctest's timeout) or
// leak (the AddressSanitizer build's leak check).
TEST(Soak, EightThreadsWithRebindsAndLoadsAround) {
  const std::string dir = BLOCKC_SOAK_MODULE;
  const std::string weights[2] = {dir + "/weights_a.safetensors", dir + "/weights_b.safetensors"};
  constexpr int kThreads = 8;
  const int runs = soakRuns();

  // The serial references, one module per weight set, one run at a time.
  std::vector<std::vector<SoakCase>> cases(kThreads);
  {
    blockc::Module serial[2] = {blockc::Module(dir), blockc::Module(dir)};
    const size_t inFloats = blockc::Module::sampleFloats(serial[0].inputs().at(0));
    const size_t outFloats = blockc::Module::sampleFloats(serial[0].outputs().at(0));
    for (int w = 0; w < 2; ++w)
      serial[w].bindWeights(weights[w]);
    std::mt19937 random(7);
    std::normal_distribution<float> normal;
    for (auto &threadCases : cases)
      for (int r = 0; r < runs; ++r) {
        SoakCase c;
        c.batch = 1 + static_cast<int64_t>(random() % 4);
        c.input.resize(static_cast<size_t>(c.batch) * inFloats);
        for (float &v : c.input)
          v = normal(random);
        for (int w = 0; w < 2; ++w) {
          c.expected[w].resize(static_cast<size_t>(c.batch) * outFloats);
          serial[w].run(c.input.data(), c.batch, c.expected[w].data());
        }
        ASSERT_NE(c.expected[0], c.expected[1]) << "the two weight sets must be told apart";
        threadCases.push_back(std::move(c));
      }
  }

  blockc::Module shared(dir);
  shared.bindWeights(weights[0]);
  // Even: weight set (generation / 2) % 2 is bound; odd: a bind is under way.
  std::atomic<int64_t> generation{0};
  std::atomic<int> running{kThreads}, failures{0}, runsDone{0}, loads{0}, rebinds{0};
  std::mutex failureMutex;
  std::string firstFailure;
  auto fail = [&](const std::string &what) {
    if (failures++ == 0) {
      std::lock_guard<std::mutex> lock(failureMutex);
      firstFailure = what;
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (const SoakCase &c : cases[static_cast<size_t>(t)]) {
        std::vector<float> output(c.expected[0].size());
        const int64_t before = generation.load();
        const blockc_status status =
            blockc_module_run(shared.get(), c.input.data(), c.batch, output.data());
        const int64_t after = generation.load();
        if (status != BLOCKC_OK) {
          fail(std::string("run failed: ") + blockc_last_error());
          continue;
        }
        bool matches = false; // any weight set bound between before and after
        for (int64_t g = before / 2; g <= (after + 1) / 2; ++g)
          matches |= output == c.expected[g % 2];
        if (!matches)
          fail("thread " + std::to_string(t) + ", batch " + std::to_string(c.batch) +
               ": the output is neither weight set's serial output");
        ++runsDone;
      }
      --running;
    });
  threads.emplace_back([&] { // rebinds, in turn, while the runners run
    for (int64_t k = 1; running.load() > 0; ++k) {
      ++generation;
      try {
        shared.bindWeights(weights[k % 2]);
      } catch (const blockc::Error &e) {
        fail(std::string("rebind failed: ") + e.what());
      }
      ++generation;
      ++rebinds;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  threads.emplace_back([&] { // loads, binds, runs and frees copies of the module around them
    for (size_t r = 0; running.load() > 0; ++r) {
      const SoakCase &c = cases[r % kThreads][r / kThreads % cases[0].size()];
      try {
        blockc::Module copy(dir);
        copy.bindWeights(weights[r % 2]);
        std::vector<float> output(c.expected[0].size());
        copy.run(c.input.data(), c.batch, output.data());
        if (output != c.expected[r % 2])
          fail("a freshly loaded copy's output differs from the serial run's");
      } catch (const blockc::Error &e) {
        fail(std::string("a copy failed: ") + e.what());
      }
      ++loads;
    }
  });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0) << firstFailure;
  EXPECT_EQ(runsDone.load(), kThreads * runs);
  EXPECT_GT(rebinds.load(), 0);
  EXPECT_GT(loads.load(), 0);
  std::printf("soak: %d runs on %d threads, %d rebinds, %d loads around them\n",
              runsDone.load(), kThreads, rebinds.load(), loads.load());
}

} // namespace

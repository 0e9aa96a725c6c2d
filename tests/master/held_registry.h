// HeldRegistry: a registry back-end whose writes wait for the test. Each
// Apply() is recorded; Complete() finishes the oldest one (storing it in an
// in-memory copy when it succeeds), so a test can look at the master or the
// registrar while a write is in flight, or never complete it.
//
// Thread rule: not thread-safe; use it from the thread that drives the
// loop (manual-clock tests).
#ifndef AGORA_TESTS_MASTER_HELD_REGISTRY_H_
#define AGORA_TESTS_MASTER_HELD_REGISTRY_H_

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "master/registry.h"

namespace agora::testing {

class HeldRegistry : public Registry {
 public:
  struct Write {
    std::vector<RegistryChange> changes;
    Done done;
  };

  void Recover(RecoverDone done) override { memory_->Recover(std::move(done)); }
  void Apply(std::vector<RegistryChange> changes, Done done) override {
    writes.push_back({std::move(changes), std::move(done)});
  }
  size_t max_apply_bytes() const override { return max_bytes; }
  std::string Describe() const override { return "held"; }

  // Completes the oldest held write with `status` (stored only when OK).
  void Complete(absl::Status status = absl::OkStatus()) {
    ASSERT_FALSE(writes.empty()) << "no registry write is held";
    Write write = std::move(writes.front());
    writes.erase(writes.begin());
    if (status.ok()) memory_->Apply(write.changes, [](absl::Status) {});
    write.done(status);
  }
  // The names of the held write's records, "+" when written and "-" when
  // removed ("agents/S1+").
  std::vector<std::string> Names(size_t write = 0) const {
    std::vector<std::string> out;
    for (const RegistryChange& change : writes.at(write).changes) {
      out.push_back(change.Name() + (change.record ? "+" : "-"));
    }
    return out;
  }

  std::vector<Write> writes;
  size_t max_bytes = std::numeric_limits<size_t>::max();

 private:
  std::unique_ptr<Registry> memory_ = NewInMemoryRegistry();
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_MASTER_HELD_REGISTRY_H_

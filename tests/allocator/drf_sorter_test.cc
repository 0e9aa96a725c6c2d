// DrfSorter: shares, tie-breaks, weights, activation, the role tree, and
// the incremental order against a from-scratch reference.
#include "allocator/drf_sorter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr double kEps = 1e-9;

// Index 0 is cpus, index 1 is mem.
Quantities Q(double cpus, double mem) {
  return {std::llround(cpus * 1000), std::llround(mem * 1000)};
}

void AddActive(DrfSorter* sorter, const std::vector<std::string>& clients) {
  for (const std::string& c : clients) {
    sorter->Add(c);
    sorter->Activate(c);
  }
}

TEST(DrfSorterTest, SortsByDominantShare) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "b", "c"});
  sorter.Allocated("a", Q(5, 0));   // a = 0.5 (cpus 5/10)
  sorter.Allocated("b", Q(1, 30));  // b = 0.3 (mem 30/100)
  // c = 0
  EXPECT_THAT(sorter.Sort(), ElementsAre("c", "b", "a"));
  EXPECT_NEAR(sorter.Share("a"), 0.5, kEps);
  EXPECT_NEAR(sorter.Share("b"), 0.3, kEps);
  EXPECT_NEAR(sorter.Share("c"), 0.0, kEps);

  sorter.Unallocated("a", Q(4.5, 0));  // a = 0.05
  EXPECT_THAT(sorter.Sort(), ElementsAre("c", "a", "b"));
}

TEST(DrfSorterTest, TiesGoToFewerAllocationsThenName) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"b", "a"});
  // Both 0 with no allocations: by name.
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b"));

  // a = 0 again but with one allocation behind it.
  sorter.Allocated("a", Q(1, 0));
  sorter.Unallocated("a", Q(1, 0));
  EXPECT_EQ(sorter.AllocationCount("a"), 1u);
  EXPECT_THAT(sorter.Sort(), ElementsAre("b", "a"));

  // One allocation each: by name again.
  sorter.Allocated("b", Q(1, 0));
  sorter.Unallocated("b", Q(1, 0));
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b"));
}

TEST(DrfSorterTest, WeightsDivideShares) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "b"});
  sorter.Allocated("a", Q(6, 0));  // a = 0.6
  sorter.Allocated("b", Q(4, 0));  // b = 0.4
  EXPECT_THAT(sorter.Sort(), ElementsAre("b", "a"));

  sorter.UpdateWeight("a", 2.0);  // a = 0.6 / 2 = 0.3
  EXPECT_NEAR(sorter.Share("a"), 0.3, kEps);
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b"));

  // A weight set before its client exists applies when it is added.
  sorter.UpdateWeight("c", 0.25);
  AddActive(&sorter, {"c"});
  sorter.Allocated("c", Q(1, 0));  // c = 0.1 / 0.25 = 0.4
  EXPECT_NEAR(sorter.Share("c"), 0.4, kEps);
  // a 0.3, b 0.4 (one allocation), c 0.4 (one allocation): b by name.
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b", "c"));
}

TEST(DrfSorterTest, InactiveClientsKeepTheirAllocation) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "b"});
  sorter.Add("c");  // Added inactive.
  EXPECT_FALSE(sorter.IsActive("c"));
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b"));

  sorter.Deactivate("a");
  sorter.Allocated("a", Q(2, 0));  // a = 0.2 while inactive
  sorter.Allocated("b", Q(3, 0));  // b = 0.3
  EXPECT_THAT(sorter.Sort(), ElementsAre("b"));
  EXPECT_NEAR(sorter.Share("a"), 0.2, kEps);

  sorter.Activate("a");
  sorter.Activate("c");
  EXPECT_THAT(sorter.Sort(), ElementsAre("c", "a", "b"));
  EXPECT_EQ(sorter.Count(), 3u);
}

TEST(DrfSorterTest, NewTotalsReorder) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "b"});
  sorter.Allocated("a", Q(4, 0));   // a = 0.4 (cpus)
  sorter.Allocated("b", Q(0, 50));  // b = 0.5 (mem)
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "b"));

  sorter.AddTotal(Q(0, 200));  // b = 50/300 = 0.17
  EXPECT_THAT(sorter.Sort(), ElementsAre("b", "a"));
  EXPECT_NEAR(sorter.Share("b"), 50.0 / 300, kEps);

  sorter.SubtractTotal(Q(0, 300));  // No mem left: mem does not count.
  EXPECT_NEAR(sorter.Share("b"), 0.0, kEps);
  EXPECT_THAT(sorter.Sort(), ElementsAre("b", "a"));
}

// Mesos's nested roles: each level is sorted by the subtree's share.
TEST(DrfSorterTest, HierarchicalSortsEachLevel) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a/b", "a/c", "d/e"});
  sorter.Allocated("a/b", Q(4, 0));  // a = 0.4 (a/b 0.4, a/c 0)
  sorter.Allocated("d/e", Q(3, 0));  // d = 0.3 (d/e 0.3)
  EXPECT_THAT(sorter.Sort(), ElementsAre("d/e", "a/c", "a/b"));

  sorter.Remove("a/b");  // a = 0
  EXPECT_THAT(sorter.Sort(), ElementsAre("a/c", "d/e"));
  sorter.Remove("a/c");
  EXPECT_THAT(sorter.Sort(), ElementsAre("d/e"));
  EXPECT_FALSE(sorter.Contains("a/c"));
}

// A client with descendants ("a" beside "a/b") is the leaf "a/." under the
// node "a", and becomes a plain leaf again when the descendants go.
TEST(DrfSorterTest, ClientWithDescendants) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a"});
  sorter.Allocated("a", Q(2, 0));  // a = 0.2
  AddActive(&sorter, {"a/b", "c"});
  // Root: c (0) before node a (0.2); in a: a/b (0) before a/. (0.2).
  EXPECT_THAT(sorter.Sort(), ElementsAre("c", "a/b", "a"));
  EXPECT_NEAR(sorter.Share("a"), 0.2, kEps);
  EXPECT_EQ(sorter.AllocationCount("a"), 1u);

  sorter.Allocated("a/b", Q(1, 0));  // node a = 0.3, a/b = 0.1
  sorter.Allocated("c", Q(4, 0));    // c = 0.4
  EXPECT_THAT(sorter.Sort(), ElementsAre("a/b", "a", "c"));

  sorter.Remove("a/b");  // node a back to a leaf with 0.2
  EXPECT_THAT(sorter.Sort(), ElementsAre("a", "c"));
  EXPECT_NEAR(sorter.Share("a"), 0.2, kEps);

  // The other order: "x/y" first, then "x" as a virtual leaf.
  AddActive(&sorter, {"x/y", "x"});
  sorter.Allocated("x/y", Q(1, 0));
  EXPECT_THAT(sorter.Sort(), ElementsAre("x", "x/y", "a", "c"));
  sorter.Remove("x");
  sorter.Remove("x/y");
  sorter.Remove("a");
  EXPECT_THAT(sorter.Sort(), ElementsAre("c"));
  EXPECT_EQ(sorter.Count(), 1u);
}

TEST(DrfSorterTest, FlatSorterKeepsSlashesInNames) {
  DrfSorter sorter(/*hierarchical=*/false);
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a/b", "a/c", "x"});
  sorter.Allocated("a/b", Q(5, 0));
  sorter.Allocated("a/c", Q(4, 0));
  sorter.Allocated("x", Q(3, 0));
  EXPECT_THAT(sorter.Sort(), ElementsAre("x", "a/c", "a/b"));
  sorter.UpdateWeight("a/b", 10);
  EXPECT_THAT(sorter.Sort(), ElementsAre("a/b", "x", "a/c"));
}

TEST(DrfSorterTest, ForEachActiveStopsEarly) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "b", "c"});
  std::vector<std::string> seen;
  EXPECT_FALSE(sorter.ForEachActive([&](const std::string& c) {
    seen.push_back(c);
    return c != "b";
  }));
  EXPECT_THAT(seen, ElementsAre("a", "b"));
  DrfSorter empty;
  EXPECT_TRUE(empty.ForEachActive([](const std::string&) { return false; }));
  EXPECT_THAT(empty.Sort(), IsEmpty());
}

// The incrementally kept order equals a from-scratch sort after every one
// of many random operations, for a flat sorter and a two-level tree.
class Reference {
 public:
  explicit Reference(bool tree) : tree_(tree) {}
  std::map<std::string, Quantities> alloc;
  std::map<std::string, uint64_t> count;
  std::map<std::string, bool> active;
  std::map<std::string, double> weight;
  Quantities totals;

  double ShareOf(const Quantities& a, const std::string& path) const {
    double share = 0;
    for (size_t i = 0; i < totals.size() && i < a.size(); ++i) {
      if (totals[i] <= 0) continue;
      share = std::max(share, static_cast<double>(a[i]) / totals[i]);
    }
    auto w = weight.find(path);
    return share / (w == weight.end() ? 1.0 : w->second);
  }

  std::vector<std::string> Sort() const {
    // Group clients by their first path component (one group per client
    // for a flat sorter).
    std::map<std::string, std::vector<std::string>> groups;
    for (const auto& [c, q] : alloc) groups[Group(c)].push_back(c);
    using Key = std::tuple<double, uint64_t, std::string>;
    std::vector<Key> order;
    for (const auto& [g, clients] : groups) {
      Quantities sum;
      uint64_t n = 0;
      for (const std::string& c : clients) {
        AddQuantities(&sum, alloc.at(c));
        n += count.at(c);
      }
      order.emplace_back(ShareOf(sum, g), n, g);
    }
    std::sort(order.begin(), order.end());
    std::vector<std::string> out;
    for (const Key& k : order) {
      std::vector<Key> inner;
      for (const std::string& c : groups[std::get<2>(k)]) {
        if (active.at(c))
          inner.emplace_back(ShareOf(alloc.at(c), c), count.at(c), c);
      }
      std::sort(inner.begin(), inner.end());
      for (const Key& i : inner) out.push_back(std::get<2>(i));
    }
    return out;
  }

 private:
  std::string Group(const std::string& c) const {
    return tree_ ? c.substr(0, c.find('/')) : c;
  }
  bool tree_;
};

void RunRandomOperations(bool tree) {
  std::mt19937_64 rng(tree ? 11 : 7);
  DrfSorter sorter(tree);
  Reference ref(tree);
  std::vector<std::string> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(tree ? absl::StrCat("g", i % 3, "/c", i)
                           : absl::StrCat("c", i));
  }
  for (const std::string& c : clients) {
    sorter.Add(c);
    ref.alloc[c];
    ref.count[c] = 0;
    ref.active[c] = false;
  }
  auto q = [&rng]() { return Q(rng() % 5, (rng() % 5) * 16); };
  std::set<std::string> marked;
  for (int step = 0; step < 3000; ++step) {
    const std::string& c = clients[rng() % clients.size()];
    switch (rng() % 7) {
      case 0:
      case 1: {
        Quantities add = q();
        sorter.Allocated(c, add);
        AddQuantities(&ref.alloc[c], add);
        ++ref.count[c];
        break;
      }
      case 2: {
        Quantities sub = ref.alloc[c];
        for (int64_t& v : sub) v /= 2;
        sorter.Unallocated(c, sub);
        SubtractQuantities(&ref.alloc[c], sub);
        break;
      }
      case 3:
        if (ref.active[c]) {
          sorter.Deactivate(c);
        } else {
          sorter.Activate(c);
        }
        ref.active[c] = !ref.active[c];
        break;
      case 4: {
        Quantities total = q();
        sorter.AddTotal(total);
        AddQuantities(&ref.totals, total);
        break;
      }
      case 5:
        if (!tree) {
          double w = 0.5 + static_cast<double>(rng() % 4);
          sorter.UpdateWeight(c, w);
          ref.weight[c] = w;
        }
        break;
      case 6:
        // Marking: a flat sorter's clients are all top-level.
        if (!tree) {
          bool mark = marked.insert(c).second;
          if (!mark) marked.erase(c);
          sorter.Mark(c, mark);
        }
        break;
    }
    std::vector<std::string> sorted = ref.Sort();
    ASSERT_EQ(sorter.Sort(), sorted) << "step " << step;
    // The marked walk is the sorted order restricted to marked clients.
    std::vector<std::string> want, got;
    for (const std::string& client : sorted) {
      if (marked.count(client) > 0) want.push_back(client);
    }
    sorter.ForEachMarked([&got](const std::string& client, void*) {
      got.push_back(client);
      return true;
    });
    ASSERT_EQ(got, want) << "step " << step;
  }
}

// A marked top-level role with subroles is visited through its own
// (virtual) client only; tags come back with the clients.
TEST(DrfSorterTest, MarkedWalkVisitsTopLevelClients) {
  DrfSorter sorter;
  sorter.AddTotal(Q(10, 100));
  AddActive(&sorter, {"a", "a/b", "c", "d"});
  int tag_a = 0, tag_c = 0;
  sorter.SetTag("a", &tag_a);
  sorter.SetTag("c", &tag_c);
  sorter.Allocated("a/b", Q(1, 0));  // Subtree a = 0.1, c = d = 0.
  sorter.Mark("a", true);
  sorter.Mark("c", true);
  sorter.Mark("a/b", true);  // Not top-level: ignored.
  std::vector<std::pair<std::string, void*>> seen;
  auto record = [&seen](const std::string& client, void* tag) {
    seen.emplace_back(client, tag);
    return true;
  };
  sorter.ForEachMarked(record);
  EXPECT_THAT(
      seen, ElementsAre(
                std::make_pair(std::string("c"), static_cast<void*>(&tag_c)),
                std::make_pair(std::string("a"), static_cast<void*>(&tag_a))));
  // Update re-keys without counting an allocation; exclusion drops mem.
  sorter.Update("a/b", Q(1, 0), Q(0, 50));  // a = 0.5 by mem.
  EXPECT_EQ(sorter.AllocationCount("a/b"), 1u);
  EXPECT_NEAR(sorter.Share("a/b"), 0.5, kEps);
  sorter.SetExcludedFromShares({1});
  EXPECT_NEAR(sorter.Share("a/b"), 0.0, kEps);
  sorter.Mark("c", false);
  seen.clear();
  sorter.ForEachMarked(record);
  EXPECT_THAT(seen, ElementsAre(std::make_pair(std::string("a"),
                                               static_cast<void*>(&tag_a))));
}

TEST(DrfSorterTest, IncrementalOrderMatchesReferenceFlat) {
  RunRandomOperations(/*tree=*/false);
}

TEST(DrfSorterTest, IncrementalOrderMatchesReferenceTree) {
  RunRandomOperations(/*tree=*/true);
}

}  // namespace
}  // namespace agora

// DrfSorter: orders clients by Dominant Resource Fairness, as Mesos's DRF
// sorter does. The allocator keeps one over roles and one per role over that
// role's frameworks.
//
// A client is named by a path. In a hierarchical sorter "a/b" sits under "a"
// and the clients form a tree; every internal node carries the sum of its
// subtree's allocations and the tree is sorted at each level. A client whose
// path is also a prefix of another client ("a" beside "a/b") is kept as a
// virtual leaf "a/." under the internal node "a". A flat sorter treats a path
// as one opaque name.
//
// share(node) = max over scalar resources r with total_r > 0 of
// allocation_r / total_r, divided by the node's weight (default 1). Siblings
// are ordered by (share, allocation count, path): the count goes up by one
// each time Allocated() touches the node, so equal shares alternate.
//
// Only active leaves are returned by Sort(); internal nodes are always sorted.
// The sorted order is kept incrementally (one ordered set per internal node,
// re-keyed on every allocation change); a change of the totals or of a weight
// marks the whole tree for a rebuild, done lazily on the next Sort().
//
// Not thread-safe; the allocator owns it on the master loop. Calls about an
// unknown client are our own bug and CHECK-fail.
#ifndef AGORA_ALLOCATOR_DRF_SORTER_H_
#define AGORA_ALLOCATOR_DRF_SORTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"

namespace agora {

// Scalar quantities in thousandths (Scalar::millis), indexed by a small
// integer the allocator assigns to each resource name. Missing trailing
// entries count as zero.
using Quantities = absl::InlinedVector<int64_t, 4>;

// a += b and a -= b, growing `a` as needed.
void AddQuantities(Quantities* a, const Quantities& b);
void SubtractQuantities(Quantities* a, const Quantities& b);
// True when a_i >= b_i for every index of `b`.
bool ContainsQuantities(const Quantities& a, const Quantities& b);

class DrfSorter {
 public:
  explicit DrfSorter(bool hierarchical = true);
  ~DrfSorter();
  DrfSorter(const DrfSorter&) = delete;
  DrfSorter& operator=(const DrfSorter&) = delete;

  // Adds a new, inactive client. Precondition: `path` is not a client.
  void Add(const std::string& path);
  // Removes a client; its allocation leaves its ancestors.
  void Remove(const std::string& path);
  void Activate(const std::string& path);
  void Deactivate(const std::string& path);
  bool Contains(const std::string& path) const;
  bool IsActive(const std::string& path) const;
  size_t Count() const { return clients_.size(); }

  // Resources (by quantity index) that do not count in shares
  // (--fair_sharing_excluded_resource_names). They are still tracked.
  void SetExcludedFromShares(const std::vector<size_t>& indices);

  // An opaque pointer stored with a client and handed to the walk, so the
  // caller finds its own state without a lookup by name.
  void SetTag(const std::string& path, void* tag);

  // Sets the weight of the node at `path` (a client or an inner node of the
  // tree), now or whenever it appears. Precondition: weight > 0.
  void UpdateWeight(const std::string& path, double weight);

  // The cluster totals the shares are computed against.
  void AddTotal(const Quantities& q);
  void SubtractTotal(const Quantities& q);

  // `q` more (or less) is allocated to `path`. Allocated() also counts one
  // allocation for the client and each of its ancestors.
  void Allocated(const std::string& path, const Quantities& q);
  void Unallocated(const std::string& path, const Quantities& q);
  // Replaces `from` by `to` in the allocation without counting an
  // allocation (an operation changed what an offer holds).
  void Update(const std::string& path, const Quantities& from,
              const Quantities& to);
  // Sum of all clients' allocations.
  const Quantities& TotalAllocation() const;

  double Share(const std::string& path) const;
  uint64_t AllocationCount(const std::string& path) const;
  const Quantities& Allocation(const std::string& path) const;

  // Active clients in DRF order (pre-order over the sorted tree).
  std::vector<std::string> Sort();
  // Calls `fn` on the active clients in the order of Sort() until it returns
  // false, without building the list. The sorter must not be modified from
  // inside `fn`. Returns false when `fn` stopped the walk.
  bool ForEachActive(absl::FunctionRef<bool(const std::string&)> fn);
  // The same, handing each client's tag, and skipping every subtree whose
  // path (a client path or an inner node's prefix) `descend` rejects.
  using Visitor = absl::FunctionRef<bool(const std::string&, void* tag)>;
  using Pruner = absl::FunctionRef<bool(const std::string& path)>;
  bool ForEachActive(Visitor fn, const Pruner* descend);

  // Marks (or unmarks) the top-level node `path` (no '/'). The walk below
  // visits only the marked top-level nodes' own clients (the node itself,
  // or its virtual leaf "path/."), in the order ForEachActive would, in
  // O(marked) rather than O(clients).
  void Mark(const std::string& path, bool marked);
  bool ForEachMarked(Visitor fn);

 private:
  struct Node;
  struct Less {
    bool operator()(const Node* a, const Node* b) const;
  };

  Node* Find(const std::string& path) const;
  std::vector<std::string> Tokens(const std::string& path) const;
  Node* Descend(const std::string& path);
  void SplitLeaf(Node* node);
  void Unlink(Node* node);
  void Link(Node* node);
  void LinkMarked(Node* node);
  void Prune(Node* node);
  void Adjust(Node* leaf, const Quantities& q, bool add);
  double CalculateShare(const Node* node) const;
  double WeightOf(const std::string& path) const;
  void MarkDirty();
  void Rebuild(Node* node);
  bool Walk(const Node* node, Visitor fn, const Pruner* descend) const;

  const bool hierarchical_;
  std::unique_ptr<Node> root_;
  absl::flat_hash_map<std::string, Node*> clients_;
  std::map<std::string, double> weights_;
  std::vector<bool> excluded_;  // By quantity index.
  std::set<Node*, Less> marked_;
  Quantities totals_;
  // When set, the per-node ordered sets are empty and the shares stale; the
  // next Sort() recomputes everything.
  bool dirty_ = false;
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_DRF_SORTER_H_

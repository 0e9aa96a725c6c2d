#include "allocator/drf_sorter.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"

namespace agora {

void AddQuantities(Quantities* a, const Quantities& b) {
  if (a->size() < b.size()) a->resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) (*a)[i] += b[i];
}

void SubtractQuantities(Quantities* a, const Quantities& b) {
  if (a->size() < b.size()) a->resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) (*a)[i] -= b[i];
}

bool ContainsQuantities(const Quantities& a, const Quantities& b) {
  for (size_t i = 0; i < b.size(); ++i) {
    int64_t have = i < a.size() ? a[i] : 0;
    if (have < b[i]) return false;
  }
  return true;
}

// One node of the tree. Leaves are clients; internal nodes exist for path
// prefixes. Children are owned by `children` (by edge name, so rebuilds are
// deterministic); the active leaves and internal children are also kept in
// `sorted` while the tree is clean.
struct DrfSorter::Node {
  enum class Kind { kActiveLeaf, kInactiveLeaf, kInternal };

  Node(std::string n, Kind k, Node* p)
      : name(std::move(n)), kind(k), parent(p) {
    if (parent == nullptr) {
      path = "";
    } else if (parent->parent == nullptr) {
      path = name;
    } else {
      path = absl::StrCat(parent->path, "/", name);
    }
  }

  bool IsLeaf() const { return kind != Kind::kInternal; }
  // The client a leaf stands for: a virtual leaf "a/." stands for "a".
  const std::string& ClientPath() const {
    return name == "." ? parent->path : path;
  }

  std::string name;  // Edge label; "." for a virtual leaf.
  std::string path;  // Full path; ends in "/." for a virtual leaf.
  Kind kind;
  Node* parent;
  double weight = 1.0;
  double share = 0.0;  // Cached; valid while in the parent's `sorted`.
  uint64_t count = 0;
  Quantities allocation;
  std::map<std::string, std::unique_ptr<Node>> children;
  std::set<Node*, Less> sorted;
  bool in_sorted = false;
  std::set<Node*, Less>::iterator pos;
  void* tag = nullptr;  // Leaves only.
  // Top-level nodes only: marked ones are also kept in the root's
  // `marked` set, in the same order as in `sorted`.
  bool marked = false;
  bool in_marked = false;
  std::set<Node*, Less>::iterator marked_pos;
};

bool DrfSorter::Less::operator()(const Node* a, const Node* b) const {
  if (a->share != b->share) return a->share < b->share;
  if (a->count != b->count) return a->count < b->count;
  return a->path < b->path;
}

DrfSorter::DrfSorter(bool hierarchical)
    : hierarchical_(hierarchical),
      root_(std::make_unique<Node>("", Node::Kind::kInternal, nullptr)) {}

DrfSorter::~DrfSorter() = default;

DrfSorter::Node* DrfSorter::Find(const std::string& path) const {
  auto it = clients_.find(path);
  return it == clients_.end() ? nullptr : it->second;
}

bool DrfSorter::Contains(const std::string& path) const {
  return Find(path) != nullptr;
}

bool DrfSorter::IsActive(const std::string& path) const {
  const Node* node = Find(path);
  return node != nullptr && node->kind == Node::Kind::kActiveLeaf;
}

double DrfSorter::WeightOf(const std::string& path) const {
  auto it = weights_.find(path);
  return it == weights_.end() ? 1.0 : it->second;
}

double DrfSorter::CalculateShare(const Node* node) const {
  double share = 0.0;
  for (size_t i = 0; i < totals_.size() && i < node->allocation.size(); ++i) {
    if (totals_[i] <= 0) continue;
    if (i < excluded_.size() && excluded_[i]) continue;
    share = std::max(share, static_cast<double>(node->allocation[i]) /
                                static_cast<double>(totals_[i]));
  }
  return share / node->weight;
}

// Puts `node` into its parent's ordered set (when it belongs there and the
// tree is clean), with a freshly computed share.
void DrfSorter::Link(Node* node) {
  if (dirty_ || node->kind == Node::Kind::kInactiveLeaf) return;
  node->share = CalculateShare(node);
  node->pos = node->parent->sorted.insert(node).first;
  node->in_sorted = true;
  LinkMarked(node);
}

void DrfSorter::LinkMarked(Node* node) {
  if (!node->marked || node->parent != root_.get() || !node->in_sorted) return;
  node->marked_pos = marked_.insert(node).first;
  node->in_marked = true;
}

void DrfSorter::Unlink(Node* node) {
  if (node->in_marked) {
    marked_.erase(node->marked_pos);
    node->in_marked = false;
  }
  if (!node->in_sorted) return;
  node->parent->sorted.erase(node->pos);
  node->in_sorted = false;
}

void DrfSorter::MarkDirty() {
  if (dirty_) return;
  dirty_ = true;
  for (Node* node : marked_) node->in_marked = false;
  marked_.clear();
  std::vector<Node*> stack = {root_.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (Node* child : node->sorted) child->in_sorted = false;
    node->sorted.clear();
    for (auto& [name, child] : node->children) {
      if (!child->IsLeaf()) stack.push_back(child.get());
    }
  }
}

void DrfSorter::Rebuild(Node* node) {
  for (auto& [name, child] : node->children) {
    if (child->kind == Node::Kind::kInactiveLeaf) continue;
    child->share = CalculateShare(child.get());
    child->pos = node->sorted.insert(child.get()).first;
    child->in_sorted = true;
    LinkMarked(child.get());
    if (!child->IsLeaf()) Rebuild(child.get());
  }
}

// An existing client "a" gains a descendant: "a" becomes an internal node
// and the client moves, with its allocation, to the virtual leaf "a/.".
void DrfSorter::SplitLeaf(Node* node) {
  Node::Kind old_kind = node->kind;
  Unlink(node);
  node->kind = Node::Kind::kInternal;
  Link(node);
  auto virt = std::make_unique<Node>(".", old_kind, node);
  virt->weight = WeightOf(virt->path);
  virt->allocation = node->allocation;
  virt->count = node->count;
  virt->tag = node->tag;
  node->tag = nullptr;
  clients_[node->path] = virt.get();
  Link(virt.get());
  node->children.emplace(".", std::move(virt));
}

std::vector<std::string> DrfSorter::Tokens(const std::string& path) const {
  if (!hierarchical_) return {path};
  return absl::StrSplit(path, '/');
}

// Walks down to the node for `path`, creating what is missing like
// `mkdir -p`, and returns the new client's leaf.
DrfSorter::Node* DrfSorter::Descend(const std::string& path) {
  std::vector<std::string> tokens = Tokens(path);
  Node* current = root_.get();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (current->IsLeaf()) SplitLeaf(current);
    auto it = current->children.find(tokens[i]);
    if (it == current->children.end()) {
      bool last = i + 1 == tokens.size();
      auto child = std::make_unique<Node>(
          tokens[i], last ? Node::Kind::kInactiveLeaf : Node::Kind::kInternal,
          current);
      child->weight = WeightOf(child->path);
      Link(child.get());
      it = current->children.emplace(tokens[i], std::move(child)).first;
      if (last) return it->second.get();
    }
    current = it->second.get();
  }
  // The path exists as an internal node: the client is its virtual leaf.
  CHECK(!current->IsLeaf()) << "sorter client '" << path << "' exists";
  auto virt = std::make_unique<Node>(".", Node::Kind::kInactiveLeaf, current);
  virt->weight = WeightOf(virt->path);
  Node* leaf = virt.get();
  current->children.emplace(".", std::move(virt));
  return leaf;
}

void DrfSorter::Add(const std::string& path) {
  CHECK(!path.empty());
  CHECK(!Contains(path)) << "sorter client '" << path << "' exists";
  clients_[path] = Descend(path);
}

void DrfSorter::Remove(const std::string& path) {
  Node* leaf = Find(path);
  CHECK(leaf != nullptr) << "unknown sorter client '" << path << "'";
  clients_.erase(path);
  for (Node* a = leaf->parent; a != nullptr; a = a->parent) {
    bool relink = a->in_sorted;
    Unlink(a);
    SubtractQuantities(&a->allocation, leaf->allocation);
    if (relink) Link(a);
  }
  Unlink(leaf);
  Node* parent = leaf->parent;
  parent->children.erase(leaf->name);
  Prune(parent);
}

// Drops internal nodes left without children and turns an internal node
// whose only child is its virtual leaf back into a plain leaf.
void DrfSorter::Prune(Node* node) {
  while (node != root_.get()) {
    Node* parent = node->parent;
    if (node->children.empty()) {
      Unlink(node);
      parent->children.erase(node->name);
      node = parent;
      continue;
    }
    if (node->children.size() == 1 && node->children.begin()->first == ".") {
      Node* virt = node->children.begin()->second.get();
      Unlink(virt);
      Unlink(node);
      node->kind = virt->kind;
      node->tag = virt->tag;
      node->children.clear();
      clients_[node->path] = node;
      Link(node);
    }
    return;
  }
}

void DrfSorter::Activate(const std::string& path) {
  Node* node = Find(path);
  CHECK(node != nullptr) << "unknown sorter client '" << path << "'";
  if (node->kind != Node::Kind::kInactiveLeaf) return;
  node->kind = Node::Kind::kActiveLeaf;
  Link(node);
}

void DrfSorter::Deactivate(const std::string& path) {
  Node* node = Find(path);
  CHECK(node != nullptr) << "unknown sorter client '" << path << "'";
  if (node->kind != Node::Kind::kActiveLeaf) return;
  Unlink(node);
  node->kind = Node::Kind::kInactiveLeaf;
}

void DrfSorter::SetExcludedFromShares(const std::vector<size_t>& indices) {
  for (size_t i : indices) {
    if (excluded_.size() <= i) excluded_.resize(i + 1, false);
    excluded_[i] = true;
  }
  MarkDirty();
}

void DrfSorter::SetTag(const std::string& path, void* tag) {
  Node* node = Find(path);
  CHECK(node != nullptr) << "unknown sorter client '" << path << "'";
  node->tag = tag;
}

void DrfSorter::UpdateWeight(const std::string& path, double weight) {
  CHECK_GT(weight, 0.0) << "weight of '" << path << "'";
  weights_[path] = weight;
  MarkDirty();
  // The weight belongs to the node named by the path: an internal node
  // when the path has descendants (its virtual leaf keeps weight 1).
  Node* node = root_.get();
  for (const std::string& token : Tokens(path)) {
    auto it = node->children.find(token);
    if (it == node->children.end()) return;
    node = it->second.get();
  }
  node->weight = weight;
}

void DrfSorter::AddTotal(const Quantities& q) {
  AddQuantities(&totals_, q);
  MarkDirty();
}

void DrfSorter::SubtractTotal(const Quantities& q) {
  SubtractQuantities(&totals_, q);
  MarkDirty();
}

// Applies an allocation change to the leaf and every ancestor, moving each
// to its new place among its siblings.
void DrfSorter::Adjust(Node* leaf, const Quantities& q, bool add) {
  for (Node* n = leaf; n != nullptr; n = n->parent) {
    bool relink = n->in_sorted;
    Unlink(n);
    if (add) {
      AddQuantities(&n->allocation, q);
      ++n->count;
    } else {
      SubtractQuantities(&n->allocation, q);
    }
    if (relink) Link(n);
  }
}

void DrfSorter::Allocated(const std::string& path, const Quantities& q) {
  Node* leaf = Find(path);
  CHECK(leaf != nullptr) << "unknown sorter client '" << path << "'";
  Adjust(leaf, q, /*add=*/true);
}

void DrfSorter::Unallocated(const std::string& path, const Quantities& q) {
  Node* leaf = Find(path);
  CHECK(leaf != nullptr) << "unknown sorter client '" << path << "'";
  Adjust(leaf, q, /*add=*/false);
}

void DrfSorter::Update(const std::string& path, const Quantities& from,
                       const Quantities& to) {
  Node* leaf = Find(path);
  CHECK(leaf != nullptr) << "unknown sorter client '" << path << "'";
  for (Node* n = leaf; n != nullptr; n = n->parent) {
    bool relink = n->in_sorted;
    Unlink(n);
    SubtractQuantities(&n->allocation, from);
    AddQuantities(&n->allocation, to);
    if (relink) Link(n);
  }
}

const Quantities& DrfSorter::TotalAllocation() const {
  return root_->allocation;
}

double DrfSorter::Share(const std::string& path) const {
  const Node* node = Find(path);
  return node == nullptr ? 0.0 : CalculateShare(node);
}

uint64_t DrfSorter::AllocationCount(const std::string& path) const {
  const Node* node = Find(path);
  return node == nullptr ? 0 : node->count;
}

const Quantities& DrfSorter::Allocation(const std::string& path) const {
  const Node* node = Find(path);
  CHECK(node != nullptr) << "unknown sorter client '" << path << "'";
  return node->allocation;
}

bool DrfSorter::Walk(const Node* node, Visitor fn,
                     const Pruner* descend) const {
  for (const Node* child : node->sorted) {
    if (child->IsLeaf()) {
      if (descend != nullptr && !(*descend)(child->ClientPath())) continue;
      if (!fn(child->ClientPath(), child->tag)) return false;
    } else {
      if (descend != nullptr && !(*descend)(child->path)) continue;
      if (!Walk(child, fn, descend)) return false;
    }
  }
  return true;
}

bool DrfSorter::ForEachActive(Visitor fn, const Pruner* descend) {
  if (dirty_) {
    Rebuild(root_.get());
    dirty_ = false;
  }
  return Walk(root_.get(), fn, descend);
}

bool DrfSorter::ForEachActive(absl::FunctionRef<bool(const std::string&)> fn) {
  return ForEachActive(
      [&fn](const std::string& client, void*) { return fn(client); }, nullptr);
}

void DrfSorter::Mark(const std::string& path, bool marked) {
  auto it = root_->children.find(path);
  if (it == root_->children.end()) return;
  Node* node = it->second.get();
  if (node->marked == marked) return;
  node->marked = marked;
  if (marked) {
    LinkMarked(node);
  } else if (node->in_marked) {
    marked_.erase(node->marked_pos);
    node->in_marked = false;
  }
}

bool DrfSorter::ForEachMarked(Visitor fn) {
  if (dirty_) {
    Rebuild(root_.get());
    dirty_ = false;
  }
  for (const Node* node : marked_) {
    const Node* leaf = node;
    if (!node->IsLeaf()) {
      auto virt = node->children.find(".");
      if (virt == node->children.end()) continue;
      leaf = virt->second.get();
    }
    if (leaf->kind != Node::Kind::kActiveLeaf) continue;
    if (!fn(leaf->ClientPath(), leaf->tag)) return false;
  }
  return true;
}

std::vector<std::string> DrfSorter::Sort() {
  std::vector<std::string> out;
  ForEachActive([&out](const std::string& client) {
    out.push_back(client);
    return true;
  });
  return out;
}

}  // namespace agora

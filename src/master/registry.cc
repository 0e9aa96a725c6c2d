#include "master/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace agora {
namespace {

class InMemoryRegistry : public Registry {
 public:
  absl::StatusOr<internal::Registry> Recover() override { return state_; }
  absl::Status Store(const internal::Registry& state) override {
    state_ = state;
    return absl::OkStatus();
  }
  std::string Describe() const override { return "in_memory"; }

 private:
  internal::Registry state_;
};

// The registry's file errors are Unavailable (the caller retries or
// refuses), with the file helper's message.
absl::Status RegistryError(const absl::Status& status) {
  return absl::UnavailableError(absl::StrCat("registry: ", status.message()));
}

class LocalRegistry : public Registry {
 public:
  explicit LocalRegistry(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<internal::Registry> Recover() override {
    absl::StatusOr<std::string> data = ReadFile(path_);
    if (absl::IsNotFound(data.status())) return internal::Registry();
    if (!data.ok()) return RegistryError(data.status());
    internal::Registry state;
    if (!state.ParseFromString(*data)) {
      return absl::DataLossError(absl::StrCat("registry: '", path_,
                                              "' is corrupt (", data->size(),
                                              " bytes that do not parse)"));
    }
    return state;
  }

  absl::Status Store(const internal::Registry& state) override {
    absl::Status status = WriteFileAtomically(path_, state.SerializeAsString());
    return status.ok() ? status : RegistryError(status);
  }

  std::string Describe() const override {
    return absl::StrCat("local file ", path_);
  }

 private:
  const std::string path_;
};

}  // namespace

std::unique_ptr<Registry> NewInMemoryRegistry() {
  return std::make_unique<InMemoryRegistry>();
}

std::unique_ptr<Registry> NewLocalRegistry(std::string path) {
  return std::make_unique<LocalRegistry>(std::move(path));
}

}  // namespace agora

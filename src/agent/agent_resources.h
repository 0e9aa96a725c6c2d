// What an agent offers and how it describes itself: --resources completed
// by Mesos's auto-detection, and --attributes in Mesos's text form.
//
// Thread rule: plain functions; ProbeSystemResources reads the system.
#ifndef AGORA_AGENT_AGENT_RESOURCES_H_
#define AGORA_AGENT_AGENT_RESOURCES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/resources.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// The host's capacity; a field is nullopt when it could not be read.
struct SystemResources {
  std::optional<int> cpus;             // Online CPUs.
  std::optional<uint64_t> mem_bytes;   // Total memory.
  std::optional<uint64_t> disk_bytes;  // Size of the work_dir filesystem.
};

SystemResources ProbeSystemResources(const std::string& work_dir);

// Parses --resources (Mesos text or JSON form; "" for none) and adds, for
// each of cpus, mem, disk and ports the flag does not name at all (an
// explicit "cpus:0" counts as named), Mesos's default:
//   cpus  online CPUs (1 if unknown)
//   mem   total - 1 GB if total >= 2 GB, else total / 2, in MB (1 GB if
//         unknown)
//   disk  filesystem size - 5 GB if >= 10 GB, else half, in MB (10 GB if
//         unknown)
//   ports [31000-32000]
// InvalidArgument (from Resources::Parse) for a malformed flag.
absl::StatusOr<Resources> AgentResources(absl::string_view flag,
                                         const SystemResources& system);

// Parses --attributes, "rack:2;zone:a;ports:[1-5];disks:{a,b}": entries
// separated by ';' (or newlines), each "name:value" with the type inferred
// as Mesos does: [..] RANGES, {..} SET, a number SCALAR, anything else
// TEXT. InvalidArgument naming the bad entry.
absl::StatusOr<std::vector<mesos::v1::Attribute>> ParseAttributes(
    absl::string_view text);

// Mesos's text form of one attribute value ("2", "a", "[1-5]", "{a,b}").
std::string AttributeValueString(const mesos::v1::Attribute& attribute);

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_RESOURCES_H_

// Which pending tasks an offer can take, as mesos-execute decides it: the
// offer's resources count whether reserved or not; a task takes resources
// reserved to the framework's role first, then other reservations the role
// may use, then unreserved ones, always as offered (with the offer's
// allocation role). Revocable resources are never used. Pure functions.
#ifndef AGORA_CLI_OFFER_MATCHING_H_
#define AGORA_CLI_OFFER_MATCHING_H_

#include <deque>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/resources.h"
#include "mesos/v1/mesos.pb.h"

namespace agora::cli {

// The resources of `available` that cover `required` (plain amounts), or
// nullopt when they do not fit.
std::optional<Resources> PickResources(const Resources& available,
                                       const Resources& required,
                                       absl::string_view role);

// Moves tasks from the front of `pending` onto `offer` while the next one
// fits, each needing `required`; each gets the offer's agent id and the
// resources picked for it. Returns them (possibly none). InvalidArgument
// when the offer's resources are malformed (nothing is taken then).
absl::StatusOr<std::vector<mesos::v1::TaskInfo>> MatchOffer(
    const mesos::v1::Offer& offer, const Resources& required,
    absl::string_view role, std::deque<mesos::v1::TaskInfo>* pending);

}  // namespace agora::cli

#endif  // AGORA_CLI_OFFER_MATCHING_H_

// JSON models of the master's objects in the shape of Mesos's /master/state
// (src/common/http.cpp's model() functions): resources as
// {"cpus": 4.0, "mem": 4096.0, "disk": 0.0, "gpus": 0.0, "ports": "[..]"},
// attributes as {"name": value}, tasks with their statuses.
//
// Thread rule: pure functions.
#ifndef AGORA_MASTER_STATE_JSON_H_
#define AGORA_MASTER_STATE_JSON_H_

#include "absl/time/time.h"
#include "common/resources.h"
#include "google/protobuf/repeated_field.h"
#include "master/offer_book.h"
#include "mesos/v1/mesos.pb.h"
#include "nlohmann/json.hpp"

namespace agora {

nlohmann::json ResourcesJson(const Resources& resources);
// Resources as an array of mesos.v1.Resource in protobuf JSON form (the
// "*_full" fields of /state), reservation stacks included.
nlohmann::json ResourcesFullJson(const Resources& resources);
// Mesos's reservation fields of an agent's /state entry for its `total`:
// reserved_resources (role -> ResourcesJson), reserved_resources_full
// (role -> ResourcesFullJson), unreserved_resources_full.
void AddReservationsJson(const Resources& total, nlohmann::json* agent);
nlohmann::json AttributesJson(
    const google::protobuf::RepeatedPtrField<mesos::v1::Attribute>& attributes);
nlohmann::json TaskJson(const mesos::v1::Task& task);
nlohmann::json OfferJson(const OutstandingOffer& offer);
// Seconds since the epoch, as Mesos reports times.
double JsonTime(absl::Time time);

}  // namespace agora

#endif  // AGORA_MASTER_STATE_JSON_H_

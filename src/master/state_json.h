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
nlohmann::json AttributesJson(
    const google::protobuf::RepeatedPtrField<mesos::v1::Attribute>& attributes);
nlohmann::json TaskJson(const mesos::v1::Task& task);
nlohmann::json OfferJson(const OutstandingOffer& offer);
// Seconds since the epoch, as Mesos reports times.
double JsonTime(absl::Time time);

}  // namespace agora

#endif  // AGORA_MASTER_STATE_JSON_H_

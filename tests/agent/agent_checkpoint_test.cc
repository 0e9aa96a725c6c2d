// The agent's checkpoint of its dynamic reservations: the file round trip,
// a missing file, a corrupt file, and the fit against --resources.
#include "agent/agent_checkpoint.h"

#include <stdlib.h>

#include <fstream>
#include <string>

#include "common/checkpointed_resources.h"
#include "common/reservations.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/agent-checkpoint-XXXXXX";
  EXPECT_NE(::mkdtemp(dir.data()), nullptr);
  return dir;
}

Resources Dynamic(const std::string& text, const std::string& role) {
  Reservation reservation;
  reservation.type = Reservation::Type::kDynamic;
  reservation.role = role;
  reservation.principal = "p";
  return PushReservation(*Resources::Parse(text), reservation);
}

TEST(AgentCheckpointTest, StoresAndLoadsAndReplaces) {
  std::string dir = TempDir();
  absl::StatusOr<Resources> none = LoadCheckpointedResources(dir);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(StoreCheckpointedResources(dir, Dynamic("cpus:2", "ads")).ok());
  ASSERT_TRUE(
      StoreCheckpointedResources(dir, Dynamic("cpus:1;mem:64", "eng")).ok());
  absl::StatusOr<Resources> loaded = LoadCheckpointedResources(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, Dynamic("cpus:1;mem:64", "eng"));
  EXPECT_EQ(loaded->items()[0].reservations[0].principal, "p");
  // No temporary file is left behind.
  std::ifstream tmp(CheckpointedResourcesPath(dir) + ".tmp");
  EXPECT_FALSE(tmp.good());
}

TEST(AgentCheckpointTest, CorruptFileIsDataLoss) {
  std::string dir = TempDir();
  ASSERT_TRUE(StoreCheckpointedResources(dir, Dynamic("cpus:2", "ads")).ok());
  std::ofstream(CheckpointedResourcesPath(dir), std::ios::trunc)
      << "\xff\xff not a protobuf";
  EXPECT_EQ(LoadCheckpointedResources(dir).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AgentCheckpointTest, CheckpointMustFitTheAgentResources) {
  Resources flag = *Resources::Parse("cpus:4;cpus(ads):1;mem:1024");
  absl::StatusOr<Resources> total =
      ApplyCheckpointedResources(flag, Dynamic("cpus:2", "ads"));
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->ReservedTo("ads").GetScalar("cpus"), Scalar::FromDouble(3));
  EXPECT_EQ(total->Unreserved().GetScalar("cpus"), Scalar::FromDouble(2));
  EXPECT_EQ(StripDynamicReservations(*total), flag);
  EXPECT_EQ(DynamicallyReserved(*total), Dynamic("cpus:2", "ads"));

  // More than --resources has, or a static reservation: refused.
  EXPECT_FALSE(ApplyCheckpointedResources(flag, Dynamic("cpus:5", "ads")).ok());
  EXPECT_FALSE(
      ApplyCheckpointedResources(flag, *Resources::Parse("cpus(ads):1")).ok());
}

}  // namespace
}  // namespace agora

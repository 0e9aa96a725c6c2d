#include "common/reservations.h"

#include "common/resources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

Resources R(absl::string_view text) { return *Resources::Parse(text); }

Reservation Dynamic(const std::string& role) {
  return Reservation{Reservation::Type::kDynamic, role, "ops"};
}

TEST(ReservationsTest, PushAndPopTheStack) {
  Resources eng = PushReservation(R("cpus:2;mem:512"), Dynamic("eng"));
  ASSERT_EQ(eng.items().size(), 2u);
  EXPECT_EQ(eng.items()[0].ReservationRole(), "eng");
  Resources ml = PushReservation(eng, Dynamic("eng/ml"));
  EXPECT_TRUE(HasRefinedReservations(ml.items()[0]));
  EXPECT_EQ(ml.items()[0].ReservationRole(), "eng/ml");
  EXPECT_EQ(PopReservation(ml), eng);
  EXPECT_EQ(PopReservation(eng), R("cpus:2;mem:512"));
  EXPECT_EQ(PopReservation(R("cpus:1")), R("cpus:1"));
}

TEST(ReservationsTest, ReserveAndUnreserveMergeAndSplit) {
  Resources total = R("cpus:4;mem:1024");
  Resources one = PushReservation(R("cpus:1"), Dynamic("eng"));
  absl::StatusOr<ResourceConversion> reserve = ReserveConversion(one);
  ASSERT_TRUE(reserve.ok()) << reserve.status();
  EXPECT_EQ(reserve->consumed, R("cpus:1"));
  // Two reservations to the same role merge into one entry.
  absl::StatusOr<Resources> after =
      ApplyConversions(total, {*reserve, *reserve});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, R("cpus:2;mem:1024") +
                        PushReservation(R("cpus:2"), Dynamic("eng")));
  EXPECT_EQ(after->items().size(), 3u);
  // Unreserving part of it leaves the rest reserved.
  absl::StatusOr<ResourceConversion> unreserve =
      UnreserveConversion(PushReservation(R("cpus:0.5"), Dynamic("eng")));
  ASSERT_TRUE(unreserve.ok()) << unreserve.status();
  after = ApplyConversions(*after, {*unreserve});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, R("cpus:2.5;mem:1024") +
                        PushReservation(R("cpus:1.5"), Dynamic("eng")));
  // More than is reserved cannot be unreserved.
  unreserve = UnreserveConversion(PushReservation(R("cpus:2"), Dynamic("eng")));
  ASSERT_TRUE(unreserve.ok());
  EXPECT_EQ(ApplyConversions(*after, {*unreserve}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ReservationsTest, Refinement) {
  Resources eng = R("cpus(eng):2");  // Static.
  EXPECT_TRUE(ReserveConversion(PushReservation(eng, Dynamic("eng/ml"))).ok());
  // Not a refinement: not below eng, or eng itself.
  EXPECT_FALSE(ReserveConversion(PushReservation(eng, Dynamic("ads"))).ok());
  EXPECT_FALSE(ReserveConversion(PushReservation(eng, Dynamic("eng"))).ok());
  absl::StatusOr<ResourceConversion> refine =
      ReserveConversion(PushReservation(eng, Dynamic("eng/ml")));
  ASSERT_TRUE(refine.ok());
  EXPECT_EQ(refine->consumed, eng);
}

TEST(ReservationsTest, InvalidOperations) {
  EXPECT_FALSE(ReserveConversion(Resources()).ok());
  EXPECT_FALSE(ReserveConversion(R("cpus:1")).ok());       // Unreserved.
  EXPECT_FALSE(ReserveConversion(R("cpus(eng):1")).ok());  // Static.
  EXPECT_FALSE(UnreserveConversion(Resources()).ok());
  EXPECT_FALSE(UnreserveConversion(R("cpus:1")).ok());
  // Static reservations change only with the agent's --resources.
  EXPECT_FALSE(UnreserveConversion(R("cpus(eng):1")).ok());
}

}  // namespace
}  // namespace agora

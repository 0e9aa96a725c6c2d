#include "common/resources.h"

#include "common/resources_proto.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

Resources MustParse(absl::string_view text, absl::string_view role = "*") {
  absl::StatusOr<Resources> r = Resources::Parse(text, role);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Resources();
}

TEST(ScalarTest, RoundsToThreeDecimals) {
  EXPECT_EQ(Scalar::FromDouble(0.1234).millis(), 123);
  EXPECT_EQ(Scalar::FromDouble(0.1235).millis(), 124);
  EXPECT_EQ(Scalar::FromDouble(0.1) + Scalar::FromDouble(0.2),
            Scalar::FromDouble(0.3));
  EXPECT_EQ(Scalar::FromDouble(2).ToString(), "2");
  EXPECT_EQ(Scalar::FromDouble(1.5).ToString(), "1.5");
  EXPECT_EQ(Scalar::FromDouble(0.125).ToString(), "0.125");
  EXPECT_EQ(Scalar::FromDouble(-0.5).ToString(), "-0.5");
}

TEST(RangesTest, NormalizesAndSubtracts) {
  Ranges r({{5, 10}, {1, 3}, {4, 4}, {20, 30}});
  EXPECT_EQ(r.ToString(), "[1-10, 20-30]");
  EXPECT_EQ(r.Count(), 21u);
  r.Subtract(Ranges({{3, 5}, {25, 25}}));
  EXPECT_EQ(r.ToString(), "[1-2, 6-10, 20-24, 26-30]");
  EXPECT_TRUE(r.Contains(Ranges({{6, 8}, {26, 30}})));
  EXPECT_FALSE(r.Contains(Ranges({{2, 6}})));
}

TEST(ResourcesTest, ParsesMesosTextForm) {
  Resources r = MustParse("cpus:4;mem:4096; ports:[31000-32000];cpus(ads):2;disks:{a,b}");
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(6));
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(4096));
  EXPECT_EQ(r.Unreserved().GetScalar("cpus"), Scalar::FromDouble(4));
  EXPECT_EQ(r.ReservedTo("ads").GetScalar("cpus"), Scalar::FromDouble(2));
  EXPECT_EQ(r.ToString(),
            "cpus:4; mem:4096; ports:[31000-32000]; cpus(ads):2; disks:{a,b}");
}

TEST(ResourcesTest, DefaultRoleMakesStaticReservation) {
  Resources r = MustParse("cpus:1", "eng");
  ASSERT_EQ(r.items().size(), 1u);
  EXPECT_EQ(r.items()[0].ReservationRole(), "eng");
  EXPECT_EQ(r.items()[0].reservations[0].type, Reservation::Type::kStatic);
}

TEST(ResourcesTest, ParsesJsonForm) {
  Resources r = MustParse(
      R"([{"name":"cpus","type":"SCALAR","scalar":{"value":2.5}},
          {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]}}])");
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(2.5));
  EXPECT_EQ(r.NonScalars().ToString(), "ports:[1-5]");
}

TEST(ResourcesTest, RejectsMalformedText) {
  for (const char* bad :
       {"cpus", "cpus:abc", "cpus:-1", "cpus:nan", "ports:[5-1]",
        "ports:[1-2", "cpus(:1", ":3", "cpus(a b):1", "cpus:1;cpus:[1-2]",
        "cpus:inf", "mem:"}) {
    absl::StatusOr<Resources> r = Resources::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(ResourcesTest, ArithmeticMergesAndDropsEmpty) {
  Resources a = MustParse("cpus:2;mem:1024;ports:[1-10]");
  Resources b = MustParse("cpus:0.5;mem:1024;ports:[3-4]");
  Resources diff = a - b;
  EXPECT_EQ(diff.ToString(), "cpus:1.5; ports:[1-2, 5-10]");
  EXPECT_TRUE(a.Contains(b));
  EXPECT_FALSE(b.Contains(a));
  EXPECT_EQ(diff + b, a);
  EXPECT_TRUE((a - a).empty());
}

TEST(ResourcesTest, ReservationsAreDistinctFromUnreserved) {
  Resources a = MustParse("cpus:2;cpus(eng):1");
  EXPECT_FALSE(a.Contains(MustParse("cpus(eng):2")));
  EXPECT_TRUE(a.Contains(MustParse("cpus:2")));
  EXPECT_EQ(a.AllocatableTo("eng/ml").GetScalar("cpus"), Scalar::FromDouble(3));
  EXPECT_EQ(a.AllocatableTo("ops").GetScalar("cpus"), Scalar::FromDouble(2));
}

TEST(ResourcesTest, AllocationRoleIsPartOfIdentity) {
  Resources a = MustParse("cpus:2").AllocatedTo("r1");
  EXPECT_FALSE(a.Contains(MustParse("cpus:1")));
  EXPECT_TRUE(a.Contains(MustParse("cpus:1").AllocatedTo("r1")));
  EXPECT_EQ(a.AllocatedTo(""), MustParse("cpus:2"));
}

TEST(ResourcesProtoTest, RoundTrips) {
  Resources r = MustParse("cpus:1.5;mem:64;ports:[31000-31005];cpus(eng):1")
                    .AllocatedTo("eng");
  absl::StatusOr<Resources> back = FromProto(ToProto(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(ResourcesProtoTest, RejectsInvalidValues) {
  mesos::v1::Resource nan;
  nan.set_name("cpus");
  nan.set_type(mesos::v1::Value::SCALAR);
  nan.mutable_scalar()->set_value(std::nan(""));
  EXPECT_EQ(FromProto(nan).status().code(), absl::StatusCode::kInvalidArgument);

  mesos::v1::Resource negative = nan;
  negative.mutable_scalar()->set_value(-1);
  EXPECT_EQ(FromProto(negative).status().code(),
            absl::StatusCode::kInvalidArgument);

  mesos::v1::Resource missing;
  missing.set_name("mem");
  missing.set_type(mesos::v1::Value::SCALAR);
  EXPECT_EQ(FromProto(missing).status().code(),
            absl::StatusCode::kInvalidArgument);

  mesos::v1::Resource star;
  star.set_name("cpus");
  star.set_type(mesos::v1::Value::SCALAR);
  star.mutable_scalar()->set_value(1);
  star.add_reservations()->set_role("*");
  EXPECT_EQ(FromProto(star).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RoleTest, Validation) {
  EXPECT_TRUE(ValidateRole("*").ok());
  EXPECT_TRUE(ValidateRole("eng/ml").ok());
  for (const char* bad : {"", "/a", "a/", "a//b", ".", "a/..", "-a", "a b", "a/*"}) {
    EXPECT_FALSE(ValidateRole(bad).ok()) << bad;
  }
  EXPECT_TRUE(IsRoleOrDescendant("a/b", "a"));
  EXPECT_FALSE(IsRoleOrDescendant("ab", "a"));
  EXPECT_FALSE(IsRoleOrDescendant("a", "*"));
}

// The moving AllocatedTo gives what the copying one gives, also when the
// resources had different allocation roles (which then merge).
TEST(ResourcesTest, AllocatedToByMove) {
  Resources one = MustParse("cpus:2;mem:64;ports:[1-3]");
  Resources moved = Resources(one).AllocatedTo("r1");
  EXPECT_EQ(moved, one.AllocatedTo("r1"));
  Resources mixed = MustParse("cpus:1").AllocatedTo("r1") +
                    MustParse("cpus:1").AllocatedTo("r2");
  ASSERT_EQ(mixed.items().size(), 2u);
  Resources merged = std::move(mixed).AllocatedTo("r3");
  ASSERT_EQ(merged.items().size(), 1u);
  EXPECT_EQ(merged, MustParse("cpus:2").AllocatedTo("r3"));
}

}  // namespace
}  // namespace agora

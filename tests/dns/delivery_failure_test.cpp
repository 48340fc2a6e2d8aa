#include "dns/delivery_failure.hpp"

#include <gtest/gtest.h>

namespace mailroom::dns {
namespace {

AddressAnswer host(Status ipv4, Status ipv6) {
  AddressAnswer a;
  a.name = "mx1.example.test";
  a.ipv4_status = ipv4;
  a.ipv6_status = ipv6;
  a.status = is_temporary(ipv4) ? ipv4 : (is_temporary(ipv6) ? ipv6 : ipv4);
  return a;
}

TEST(MxDeliveryFailure, TemporaryDnsTroubleDefersWithPostfixWording) {
  MxAnswer a;
  a.domain = "example.test";
  a.status = Status::Timeout;
  auto f = mx_lookup_failure(a);
  EXPECT_EQ(f, (DeliveryFailure{false, "4.4.3",
                                "Host or domain name not found. Name service error for "
                                "name=example.test type=MX: Host not found, try again",
                                "timeout"}));
  a.status = Status::Malformed;
  EXPECT_EQ(mx_lookup_failure(a).text,
            "Name service error for name=example.test type=MX: Malformed or unexpected name "
            "server reply");
  EXPECT_EQ(mx_lookup_failure(a).enhanced_status, "4.4.3");
}

TEST(MxDeliveryFailure, ABadDomainNameIsPermanent) {
  MxAnswer a;
  a.domain = "bad..test";
  a.status = Status::BadName;
  auto f = mx_lookup_failure(a);
  EXPECT_TRUE(f.permanent);
  EXPECT_EQ(f.enhanced_status, "5.1.2");
  EXPECT_EQ(f.text, "Name service error for name=bad..test type=MX: Malformed domain name");
}

TEST(MxDeliveryFailure, AHostWithoutAddressIs544UnlessTheTroubleIsTemporary) {
  auto gone = host_lookup_failure(host(Status::NxDomain, Status::NxDomain));
  EXPECT_EQ(gone.enhanced_status, "5.4.4");
  EXPECT_EQ(gone.text,
            "Host or domain name not found. Name service error for name=mx1.example.test "
            "type=A: Host not found");
  auto soft = host_lookup_failure(host(Status::NoData, Status::ServFail));
  EXPECT_EQ(soft.enhanced_status, "4.4.3");
  EXPECT_NE(soft.text.find("type=AAAA: Host not found, try again"), std::string::npos);
}

TEST(MxDeliveryFailure, ASoftErrorDominatesWhenNoHostWorked) {
  auto hard = host_lookup_failure(host(Status::NxDomain, Status::NxDomain));
  auto soft = host_lookup_failure(host(Status::Timeout, Status::NoData));
  EXPECT_EQ(combine_host_failures({hard, soft, hard}), soft);
  EXPECT_EQ(combine_host_failures({hard, hard}), hard);
}

}  // namespace
}  // namespace mailroom::dns

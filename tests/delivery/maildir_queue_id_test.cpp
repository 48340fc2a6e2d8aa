// Maildir names carry the queue id, so a message recovered after a crash can tell that a Maildir
// already holds its copy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../queue/queue_test_support.hpp"
#include "delivery/maildir.hpp"
#include "spool/message_id.hpp"

namespace mailroom::delivery {
namespace {

using testing::TempDir;

TEST(MaildirQueueId, BaseNameCarriesTheQueueIdInTheDeliveryIdentifier) {
  EXPECT_EQ(maildir_base_name(1700000000, 5, 42, 7, "mx.example.test", "1k0y2z92s2e0000e2zqmg"),
            "1700000000.M5P42Q7_1k0y2z92s2e0000e2zqmg.mx.example.test");
}

TEST(MaildirQueueId, IdsAreFoundInNewAndCurWhateverTheFlags) {
  TempDir dir;
  spool::MessageIdGenerator gen;
  auto a = gen.next(), b = gen.next(), c = gen.next();
  std::string md = dir.path() + "/m";
  ASSERT_FALSE(ensure_maildir(md));
  std::ofstream(md + "/new/" + maildir_base_name(1, 2, 3, 4, "h", a) + ",S=10,W=12") << "x";
  std::ofstream(md + "/cur/" + maildir_base_name(1, 2, 3, 5, "h", b) + ",S=10,W=12:2,RS") << "x";
  std::ofstream(md + "/tmp/" + maildir_base_name(1, 2, 3, 6, "h", c)) << "x";  // not delivered
  std::ofstream(md + "/new/" + maildir_base_name(1, 2, 3, 7, "h")) << "x";     // no queue id
  std::ofstream(md + "/new/1.M2P3Q8_notanid.h") << "x";
  EXPECT_EQ(queue_ids_in_maildir(md), (std::set<std::string>{a, b}));
  EXPECT_TRUE(queue_ids_in_maildir(dir.path() + "/missing").empty());
}

TEST(MaildirQueueId, StagedFilesAreNamedAfterTheirQueueId) {
  TempDir dir;
  util::SyncPool pool(4);
  std::string source = dir.path() + "/source";
  std::ofstream(source, std::ios::binary) << "Subject: x\r\n\r\nbody\r\n";
  MaildirBatch batch(pool, "mx.example.test");
  spool::MessageIdGenerator gen;
  auto id = gen.next();
  batch.stage(dir.path() + "/m", "", source, 0, 20, id);
  ASSERT_FALSE(batch.commit()[0]);
  EXPECT_EQ(queue_ids_in_maildir(dir.path() + "/m"), std::set<std::string>{id});
}

}  // namespace
}  // namespace mailroom::delivery

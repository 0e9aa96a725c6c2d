#include "common/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace agora {
namespace {

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/agora-file-XXXXXX";
  EXPECT_NE(::mkdtemp(dir.data()), nullptr);
  return dir;
}

TEST(FileUtilTest, AtomicWriteReplacesAndLeavesNoTemporary) {
  std::string path = TempDir() + "/a/b/file";
  ASSERT_TRUE(CreateDirectories(DirName(path)).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "two").ok());
  EXPECT_EQ(*ReadFile(path), "two");
  EXPECT_NE(::access(TemporaryPathFor(path).c_str(), F_OK), 0);
}

TEST(FileUtilTest, FailedAtomicWriteKeepsTheOldContentAndNamesTheFile) {
  std::string path = TempDir() + "/file";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  // A directory where the temporary file goes makes the write fail.
  ASSERT_EQ(::mkdir(TemporaryPathFor(path).c_str(), 0755), 0);
  absl::Status st = WriteFileAtomically(path, "new");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(TemporaryPathFor(path)), absl::string_view::npos)
      << st;
  EXPECT_EQ(*ReadFile(path), "old");
}

TEST(FileUtilTest, ReadOfAMissingFileIsNotFound) {
  absl::StatusOr<std::string> data = ReadFile(TempDir() + "/missing");
  EXPECT_TRUE(absl::IsNotFound(data.status())) << data.status();
}

TEST(FileUtilTest, AppendAddsToTheEnd) {
  std::string path = TempDir() + "/log";
  ASSERT_TRUE(AppendToFile(path, "ab", /*sync=*/true).ok());
  ASSERT_TRUE(AppendToFile(path, "cd", /*sync=*/false).ok());
  EXPECT_EQ(*ReadFile(path), "abcd");
  EXPECT_TRUE(SyncFilesystem(path).ok());
}

TEST(FileUtilTest, DirName) {
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
}

}  // namespace
}  // namespace agora

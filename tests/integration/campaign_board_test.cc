// The campaign board on tactd's admin port, in a real headless browser (Debian's chromium): tactd with
// redis-server and tact-devbroker as processes, a campaign created through gRPC, the page loaded by
// `chromium --headless --dump-dom`, its console read from chromium's log (--enable-logging=stderr: every console
// message, errors and CSP violations included, is a line with ":CONSOLE"). Skipped only when chromium is not
// installed (deploy/install-deps.sh installs it).
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tact/v1/capacity.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/campaign_fixtures.h"
#include "tests/support/stack.h"

namespace tact {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::DevBroker;
using testing::RedisServer;
using testing::Subprocess;
using testing::Tactd;
using testing::TempDir;

std::string FindChromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    for (const absl::string_view dir : absl::StrSplit(getenv("PATH") != nullptr ? getenv("PATH") : "/usr/bin", ':')) {
      const std::string path = absl::StrCat(dir, "/", name);
      if (::access(path.c_str(), X_OK) == 0) return path;
    }
  }
  return "";
}

struct BrowserRun {
  int exit_code = -1;
  std::string dom;                    // what --dump-dom printed
  std::vector<std::string> console;   // the page's console messages
  std::string log;
};

// Loads `url` in headless chromium and returns the DOM after load and the console messages. --no-sandbox: the
// tests run as root in CI containers, where chromium's sandbox cannot start (and the page is tactd's own);
// --disable-dev-shm-usage: containers have a small /dev/shm.
BrowserRun Browse(const std::string& chromium, const std::string& dir, const std::string& url) {
  static int n = 0;
  const std::string log = absl::StrCat(dir, "/chromium-", ++n, ".out");
  Subprocess p({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", absl::StrCat("--user-data-dir=", dir, "/chromium-profile-", n),
                "--enable-logging=stderr", "--v=0", "--dump-dom", url},
               log);
  BrowserRun r;
  r.exit_code = p.Wait(absl::Seconds(90)).value_or(-1);
  r.log = testing::ReadFile(log);
  const size_t begin = r.log.find("<html");
  const size_t end = r.log.rfind("</html>");
  if (begin != std::string::npos && end != std::string::npos && end > begin) r.dom = r.log.substr(begin, end + 7 - begin);
  for (const absl::string_view line : absl::StrSplit(r.log, '\n')) {
    if (absl::StrContains(line, ":CONSOLE") || absl::StrContains(line, "Uncaught")) r.console.emplace_back(line);
  }
  return r;
}

template <typename Stub>
std::unique_ptr<Stub> Connect(const Tactd& tactd) {
  return std::make_unique<Stub>(grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials()));
}

TEST(CampaignBoardTest, BrowserShowsACampaignCreatedThroughGrpcWithoutConsoleErrors) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (deploy/install-deps.sh installs it)";
  TempDir dir;
  // The console check can fail: a page with a script error shows up in the console lines.
  const BrowserRun control = Browse(chromium, dir.path(), "data:text/html,<p>x</p><script>notDefined()</script>");
  ASSERT_EQ(control.exit_code, 0) << control.log;
  ASSERT_THAT(control.console, ::testing::Contains(HasSubstr("Uncaught ReferenceError"))) << control.log;

  RedisServer redis(dir.path());
  DevBroker broker(dir.path(), 1);
  Tactd tactd(dir.path(), broker.bootstrap(), redis.address());
  auto capacity = Connect<v1::Capacity::Stub>(tactd);
  auto campaigns = Connect<v1::Campaigns::Stub>(tactd);
  {
    grpc::ClientContext ctx;
    v1::PutStaffingResponse resp;
    const grpc::Status s = capacity->PutStaffing(&ctx, testing::SmallDesk(), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    v1::ReleaseCampaignRequest req;
    *req.mutable_campaign() = testing::CallbackSpec("spring-callbacks", 40);
    req.mutable_campaign()->mutable_promise()->set_offer("<b>free</b> callback & \"more\"");
    v1::Campaign c;
    const grpc::Status s = campaigns->ReleaseCampaign(&ctx, req, &c);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const std::string base = absl::StrCat("http://127.0.0.1:", tactd.admin_port());
  const BrowserRun page = Browse(chromium, dir.path(), base + "/campaigns?tenant=acme");
  ASSERT_EQ(page.exit_code, 0) << page.log;
  EXPECT_THAT(page.dom, HasSubstr("Campaigns of tenant acme"));
  EXPECT_THAT(page.dom, HasSubstr("data-campaign=\"spring-callbacks\" data-state=\"noticed\""));
  EXPECT_THAT(page.dom, HasSubstr("&lt;b&gt;free&lt;/b&gt; callback &amp; \"more\""));  // the text, not markup
  EXPECT_THAT(page.dom, HasSubstr("<svg"));
  EXPECT_THAT(page.console, IsEmpty()) << page.log;

  // The same chart alone, and the probes unaffected.
  const testing::HttpReply svg = testing::HttpGet(tactd.admin_port(), "/campaigns/spring-callbacks.svg?tenant=acme");
  EXPECT_EQ(svg.status, 200);
  EXPECT_THAT(svg.body, HasSubstr("spring-callbacks: PACE"));
  EXPECT_EQ(testing::HttpGet(tactd.admin_port(), "/healthz").status, 200);
  EXPECT_THAT(testing::HttpGet(tactd.admin_port(), "/campaigns").body, HasSubstr("<form"));
}

}  // namespace
}  // namespace tact

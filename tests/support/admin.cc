#include "tests/support/admin.h"

#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace tact::testing {

HttpReply HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Result r = client.Get(path.c_str());
  if (!r) {
    return {};
  }
  return {r->status, r->body};
}

std::optional<double> MetricSample(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) {
      continue;
    }
    const std::string rest = line.substr(name.size());
    if (!rest.starts_with("{") && !rest.starts_with(" ")) {
      continue;  // a longer name with this prefix
    }
    bool all = true;
    for (const auto& [k, v] : labels) {
      all &= rest.find(absl::StrCat(k, "=\"", v, "\"")) != std::string::npos;
    }
    if (all) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return std::nullopt;
}

double Metric(int admin_port, const std::string& name, const std::map<std::string, std::string>& labels) {
  return MetricSample(HttpGet(admin_port, "/metrics").body, name, labels).value_or(0);
}

void WriteClockOffset(const std::string& path, absl::Duration offset) {
  // Written aside and renamed, so tactd never reads half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrCat(absl::ToInt64Seconds(offset), "s") << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
}

}  // namespace tact::testing

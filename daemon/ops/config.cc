#include "daemon/ops/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log.h"
#include "daemon/core/duration.h"

namespace tact::ops {
namespace {

// "host:port" with a port in [0, 65535] (0 = any free port, for tests).
absl::Status CheckListen(const std::string& path, const std::string& value, int min_port) {
  const size_t colon = value.rfind(':');
  int port = -1;
  const std::string port_text = colon == std::string::npos ? "" : value.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (colon == std::string::npos || colon == 0 || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port < min_port || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": '", value, "' must be host:port with a port in [",
                                                   min_port, ", 65535]"));
  }
  return absl::OkStatus();
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// kafka.properties: a mapping of librdkafka property names (dots kept: "socket.keepalive.enable: true") to values.
absl::Status WalkKafkaProperties(const YAML::Node& node, const std::string& where, const std::string& file,
                                 Settings& config) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": 'kafka.properties' must be a mapping of librdkafka property names to values"));
  }
  for (const auto& kv : node) {
    const std::string at = absl::StrCat(file, ":", kv.first.Mark().line + 1, ":", kv.first.Mark().column + 1);
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": kafka.properties: each entry must be name: value"));
    }
    const std::string name = kv.first.Scalar();
    if (absl::Status s = CheckKafkaProperty(name); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": ", s.message()));
    }
    if (IsSensitiveKafkaProperty(name)) {
      std::string env(kKafkaPropertiesEnvPrefix);
      for (char c : name) env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      return absl::InvalidArgumentError(absl::StrCat(at, ": 'kafka.properties.", name, "' is a secret: set ", env,
                                                     " in the environment, not in a file"));
    }
    config.kafka.properties[name] = kv.second.Scalar();
  }
  return absl::OkStatus();
}

absl::Status Walk(const YAML::Node& node, const std::string& prefix, const std::string& file, Settings& config) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {  // "? [a, b]: x", "~: x": as<std::string>() would throw
      return absl::InvalidArgumentError(absl::StrCat(file, ":", kv.first.Mark().line + 1, ":",
                                                     kv.first.Mark().column + 1, ": a key must be a plain name"));
    }
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const std::string where = absl::StrCat(file, ":", kv.first.Mark().line + 1, ":", kv.first.Mark().column + 1);
    if (path == "kafka.properties") {
      if (absl::Status s = WalkKafkaProperties(kv.second, where, file, config); !s.ok()) return s;
      continue;
    }
    if (kv.second.IsMap()) {
      bool is_section = false;
      for (const ConfigKey& k : ConfigKeys()) {
        is_section |= k.path.starts_with(path + ".");
      }
      if (!is_section) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": unknown section '", path, "'"));
      }
      if (absl::Status s = Walk(kv.second, path, file, config); !s.ok()) return s;
      continue;
    }
    const ConfigKey* match = nullptr;
    for (const ConfigKey& k : ConfigKeys()) {
      if (k.path == path) match = &k;
    }
    if (match == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", path, "'"));
    }
    if (match->secret) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", path, "' is a secret: set ", match->env, " in the environment, not in a file"));
    }
    if (!kv.second.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": '", path, "' must be a single value"));
    }
    if (absl::Status s = match->set(config, kv.second.Scalar()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", path, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRedis(const Settings::Redis& redis) {
  if (!redis.tls) {
    for (const auto& [path, value] :
         {std::pair<const char*, const std::string*>{"redis.tls_ca_file", &redis.tls_ca_file},
          {"redis.tls_cert_file", &redis.tls_cert_file},
          {"redis.tls_key_file", &redis.tls_key_file},
          {"redis.tls_server_name", &redis.tls_server_name}}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(path, " is set but redis.tls is not true"));
      }
    }
  }
  if (redis.tls_cert_file.empty() != redis.tls_key_file.empty()) {
    return absl::InvalidArgumentError("redis.tls_cert_file and redis.tls_key_file must be given together");
  }
  if (!redis.password.empty() && !redis.password_file.empty()) {
    return absl::InvalidArgumentError("TACT_REDIS_PASSWORD and redis.password_file are both set: use one");
  }
  if (!redis.username.empty() && redis.password.empty() && redis.password_file.empty()) {
    return absl::InvalidArgumentError(
        "redis.username needs a password: set TACT_REDIS_PASSWORD or redis.password_file");
  }
  return absl::OkStatus();
}

absl::Status ValidateGrpc(const Settings::Grpc& grpc, const std::string& admin_listen) {
  if (grpc.listen == admin_listen) {
    return absl::InvalidArgumentError("grpc.listen and admin.listen must differ");
  }
  const bool tls = !grpc.tls_cert.empty() || !grpc.tls_key.empty();
  if (tls && (grpc.tls_cert.empty() || grpc.tls_key.empty())) {
    return absl::InvalidArgumentError("grpc.tls_cert and grpc.tls_key must be given together");
  }
  if (!tls && !grpc.plaintext) {
    return absl::InvalidArgumentError(
        "grpc: no TLS certificate configured; set grpc.tls_cert and grpc.tls_key, or grpc.plaintext=true "
        "(--grpc-plaintext true) for local use");
  }
  if (tls && grpc.plaintext) {
    return absl::InvalidArgumentError("grpc.plaintext=true conflicts with grpc.tls_cert/grpc.tls_key");
  }
  if (!grpc.tls_client_ca.empty() && !tls) {
    return absl::InvalidArgumentError("grpc.tls_client_ca needs grpc.tls_cert and grpc.tls_key");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::map<MessageClass, absl::Duration>> ParseClassDurations(const std::string& text) {
  std::map<MessageClass, absl::Duration> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::string item(absl::StripAsciiWhitespace(part));
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", item, "' is not CLASS=DURATION (e.g. PROMOTION=24h)"));
    }
    const std::string name(absl::StripAsciiWhitespace(item.substr(0, eq)));
    MessageClass c;
    if (!v1::MessageClass_Parse(name, &c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown message class '", name, "' (expected TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE or PROMOTION)"));
    }
    absl::StatusOr<absl::Duration> d = ParseDuration(std::string(absl::StripAsciiWhitespace(item.substr(eq + 1))));
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", d.status().message()));
    }
    if (!out.emplace(c, *d).second) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": given twice"));
    }
  }
  return out;
}

absl::StatusOr<std::set<MessageClass>> ParseClassList(const std::string& text) {
  std::set<MessageClass> out;
  if (text == "NONE") {
    return out;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const std::string name(absl::StripAsciiWhitespace(part));
    MessageClass c;
    if (!v1::MessageClass_Parse(name, &c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown message class '", name, "' (expected TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE, PROMOTION or NONE)"));
    }
    out.insert(c);
  }
  return out;
}

absl::Status ApplyConfigFile(const std::string& path, const std::string& text, Settings& config) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) {
    return absl::OkStatus();  // an empty file means all defaults
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: config must be a mapping of keys to values"));
  }
  return Walk(root, "", path, config);
}

absl::Status ApplyEnvironment(const std::map<std::string, std::string>& env, Settings& config) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with("TACT_")) {
      continue;
    }
    if (name.starts_with(kKafkaPropertiesEnvPrefix)) {  // kafka.properties.<name>
      const std::string property = KafkaPropertyFromEnv(name);
      if (absl::Status s = CheckKafkaProperty(property); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()));
      }
      config.kafka.properties[property] = value;
      continue;
    }
    const ConfigKey* nearest = nullptr;
    size_t best = std::string::npos;
    for (const ConfigKey& k : ConfigKeys()) {
      if (k.env == name) {
        nearest = nullptr;
        best = 0;
        break;
      }
      const size_t d = EditDistance(name, k.env);
      if (d < best) {
        best = d;
        nearest = &k;
      }
    }
    if (nearest == nullptr) {
      continue;  // a setting
    }
    // A near miss is a typo; anything else belongs to a tool or a test (TACT_KEEP_TEST_DIRS, …) and is left alone.
    if (best <= 2 || nearest->env.starts_with(name) || name.starts_with(nearest->env)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": unknown setting (did you mean ", nearest->env, "?)"));
    }
  }
  for (const ConfigKey& k : ConfigKeys()) {
    if (auto it = env.find(k.env); it != env.end()) {
      if (absl::Status s = k.set(config, it->second); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(k.env, ": ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const Settings& config) {
  if (absl::Status s = CheckListen("grpc.listen", config.grpc.listen, 0); !s.ok()) return s;
  if (absl::Status s = CheckListen("admin.listen", config.admin_listen, 0); !s.ok()) return s;
  if (absl::Status s = CheckListen("redis.address", config.redis.address, 1); !s.ok()) return s;
  if (absl::Status s = ValidateRedis(config.redis); !s.ok()) return s;
  if (absl::Status s = ValidateGrpc(config.grpc, config.admin_listen); !s.ok()) return s;
  if (absl::Status s = ValidateKafkaSecurity(config); !s.ok()) return s;
  return absl::OkStatus();
}

std::string FormatConfig(const Settings& config) {
  std::string out;
  for (const ConfigKey& k : ConfigKeys()) {
    std::string value = k.get(config);
    if (k.secret && !value.empty()) {
      value = "***";
    } else if (value.empty()) {
      value = "\"\"";
    }
    absl::StrAppend(&out, k.path, ": ", value, "\n");
  }
  for (const auto& [name, value] : config.kafka.properties) {
    absl::StrAppend(&out, "kafka.properties.", name, ": ",
                    IsSensitiveKafkaProperty(name) ? "***" : value.empty() ? "\"\"" : value, "\n");
  }
  return out;
}

absl::StatusOr<Settings> LoadSettings(const std::string& file, const std::map<std::string, std::string>& env,
                                      const std::map<std::string, std::string>& flags) {
  Settings settings;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": cannot read config file"));
    }
    std::stringstream text;
    text << in.rdbuf();
    if (absl::Status s = ApplyConfigFile(file, text.str(), settings); !s.ok()) return s;
  }
  if (absl::Status s = ApplyEnvironment(env, settings); !s.ok()) return s;
  for (const ConfigKey& k : ConfigKeys()) {
    auto it = flags.find(k.path);
    if (k.flag.empty() || it == flags.end()) continue;
    if (absl::Status s = k.set(settings, it->second); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(k.flag, ": ", s.message()));
    }
  }
  if (absl::Status s = Validate(settings); !s.ok()) return s;
  return settings;
}

}  // namespace tact::ops

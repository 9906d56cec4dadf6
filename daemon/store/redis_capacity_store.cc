#include "daemon/store/redis_capacity_store.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::store {
namespace {

constexpr absl::Duration kIoTimeout = absl::Seconds(2);

template <typename Msg>
absl::StatusOr<Msg> Parse(const redisReply& r, std::string_view what) {
  Msg m;
  if (r.type != REDIS_REPLY_STRING || !m.ParseFromArray(r.str, static_cast<int>(r.len))) {
    return absl::InternalError(absl::StrCat("redis: malformed ", AsAbsl(what)));
  }
  return m;
}

absl::Status ReplyError(const redisReply& r) {
  if (r.type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(r.str, r.len)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RedisReplyPtr> RedisCapacityStore::Command(const std::vector<std::string>& args) {
  absl::MutexLock lock(&mu_);
  if (conn_ == nullptr) {
    const timeval tv = absl::ToTimeval(settings_.connect_timeout);
    RedisContextPtr c(redisConnectWithTimeout(settings_.host.c_str(), settings_.port, tv));
    if (c == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate context");
    if (c->err != 0) return absl::UnavailableError(absl::StrCat("redis connect: ", c->errstr));
    if (redisSetTimeout(c.get(), absl::ToTimeval(kIoTimeout)) != REDIS_OK) {
      return absl::UnavailableError(absl::StrCat("redis setup: ", c->errstr));
    }
    conn_ = std::move(c);
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  RedisReplyPtr r(static_cast<redisReply*>(
      redisCommandArgv(conn_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (r == nullptr) {
    absl::Status s = absl::UnavailableError(absl::StrCat("redis ", args[0], ": ", conn_->errstr));
    conn_.reset();  // a context that saw an error cannot be reused
    return s;
  }
  if (absl::Status s = ReplyError(*r); !s.ok()) return s;
  return r;
}

absl::Status RedisCapacityStore::PutStaffing(const v1::PutStaffingRequest& staffing) {
  absl::StatusOr<RedisReplyPtr> r =
      Command({"SET", CapacityKey(staffing.tenant(), "staffing"), staffing.SerializeAsString()});
  return r.status();
}

absl::StatusOr<std::optional<v1::PutStaffingRequest>> RedisCapacityStore::GetStaffing(std::string_view tenant) {
  absl::StatusOr<RedisReplyPtr> r = Command({"GET", CapacityKey(tenant, "staffing")});
  if (!r.ok()) return r.status();
  if ((*r)->type == REDIS_REPLY_NIL) return std::optional<v1::PutStaffingRequest>();
  absl::StatusOr<v1::PutStaffingRequest> m = Parse<v1::PutStaffingRequest>(**r, "staffing");
  if (!m.ok()) return m.status();
  return std::optional<v1::PutStaffingRequest>(*std::move(m));
}

absl::Status RedisCapacityStore::PutCampaign(const v1::Campaign& campaign, bool create) {
  absl::StatusOr<RedisReplyPtr> r =
      Command({create ? "HSETNX" : "HSET", CapacityKey(campaign.spec().tenant(), "campaigns"),
               campaign.spec().campaign_id(), campaign.SerializeAsString()});
  if (!r.ok()) return r.status();
  if (create && (*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 0) {
    return absl::AlreadyExistsError(absl::StrCat("campaign '", campaign.spec().campaign_id(), "' already released"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Campaign>> RedisCapacityStore::GetCampaign(std::string_view tenant,
                                                                            std::string_view campaign_id) {
  absl::StatusOr<RedisReplyPtr> r = Command({"HGET", CapacityKey(tenant, "campaigns"), std::string(campaign_id)});
  if (!r.ok()) return r.status();
  if ((*r)->type == REDIS_REPLY_NIL) return std::optional<v1::Campaign>();
  absl::StatusOr<v1::Campaign> m = Parse<v1::Campaign>(**r, "campaign");
  if (!m.ok()) return m.status();
  return std::optional<v1::Campaign>(*std::move(m));
}

absl::StatusOr<std::vector<v1::Campaign>> RedisCapacityStore::ListCampaigns(std::string_view tenant) {
  absl::StatusOr<RedisReplyPtr> r = Command({"HVALS", CapacityKey(tenant, "campaigns")});
  if (!r.ok()) return r.status();
  if ((*r)->type != REDIS_REPLY_ARRAY) return absl::InternalError("redis HVALS: unexpected reply");
  std::vector<v1::Campaign> out;
  for (size_t i = 0; i < (*r)->elements; ++i) {
    absl::StatusOr<v1::Campaign> m = Parse<v1::Campaign>(*(*r)->element[i], "campaign");
    if (!m.ok()) return m.status();
    out.push_back(*std::move(m));
  }
  return out;
}

absl::Status RedisCapacityStore::AddNotice(const v1::CampaignNotice& notice) {
  const std::string key = CapacityKey(notice.tenant(), "notices");
  absl::StatusOr<RedisReplyPtr> r = Command({"RPUSH", key, notice.SerializeAsString()});
  if (!r.ok()) return r.status();
  return Command({"LTRIM", key, absl::StrCat(-kMaxNotices), "-1"}).status();
}

absl::StatusOr<std::vector<v1::CampaignNotice>> RedisCapacityStore::ListNotices(std::string_view tenant) {
  absl::StatusOr<RedisReplyPtr> r = Command({"LRANGE", CapacityKey(tenant, "notices"), "0", "-1"});
  if (!r.ok()) return r.status();
  if ((*r)->type != REDIS_REPLY_ARRAY) return absl::InternalError("redis LRANGE: unexpected reply");
  std::vector<v1::CampaignNotice> out;
  for (size_t i = 0; i < (*r)->elements; ++i) {
    absl::StatusOr<v1::CampaignNotice> m = Parse<v1::CampaignNotice>(*(*r)->element[i], "notice");
    if (!m.ok()) return m.status();
    out.push_back(*std::move(m));
  }
  return out;
}

}  // namespace tact::store

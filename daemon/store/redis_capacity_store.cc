#include "daemon/store/redis_capacity_store.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/redis_check_call.h"

namespace tact::store {
namespace {

constexpr absl::Duration kIoTimeout = absl::Seconds(2);

// KEYS[1] interval set. ARGV: event id, batch, ttl seconds, dry run ("1"). Returns {admitted 0/1, used}.
constexpr char kReserveSlot[] = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, redis.call('SCARD', KEYS[1])} end
local used = redis.call('SCARD', KEYS[1])
if used >= tonumber(ARGV[2]) then return {0, used} end
if ARGV[4] == '1' then return {1, used} end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, used + 1}
)lua";

// KEYS[1] released HyperLogLog. ARGV: event id, ttl seconds.
constexpr char kCountReleased[] = R"lua(
redis.call('PFADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// KEYS[1] feedback hash, KEYS[2] seen signal ids, KEYS[3] released HyperLogLog.
// ARGV: signal id ('' = not deduplicated), contacts, complaints, ttl seconds. Returns {contacts, complaints, released}.
constexpr char kAddFeedback[] = R"lua(
local fresh = 1
if ARGV[1] ~= '' then
  fresh = redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
if fresh == 1 and (tonumber(ARGV[2]) > 0 or tonumber(ARGV[3]) > 0) then
  redis.call('HINCRBY', KEYS[1], 'contacts', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'complaints', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local v = redis.call('HMGET', KEYS[1], 'contacts', 'complaints')
return {tonumber(v[1] or 0), tonumber(v[2] or 0), redis.call('PFCOUNT', KEYS[3])}
)lua";

absl::StatusOr<std::vector<int64_t>> Integers(const redisReply& r, size_t n, std::string_view what) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != n) {
    return absl::InternalError(absl::StrCat("redis ", AsAbsl(what), ": unexpected reply"));
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (r.element[i]->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(absl::StrCat("redis ", AsAbsl(what), ": unexpected reply"));
    }
    out.push_back(r.element[i]->integer);
  }
  return out;
}

std::string Campaign(std::string_view what, std::string_view campaign_id) {
  return absl::StrCat(AsAbsl(what), ":", AsAbsl(campaign_id));
}

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

RedisCapacityStore::RedisCapacityStore(RedisSettings settings)
    : settings_(std::move(settings)), connector_(settings_.host, settings_.port, settings_.tls, settings_.auth) {
  if (!settings_.cluster_seeds.empty()) {
    cluster_ = std::make_unique<RedisCluster>(RedisClusterSettings{.seeds = settings_.cluster_seeds,
                                                                   .tls = settings_.tls,
                                                                   .auth = settings_.auth,
                                                                   .pool_size = 1,
                                                                   .connect_timeout = settings_.connect_timeout,
                                                                   .stats = settings_.node_stats},
                                              clock_);
  }
}

absl::StatusOr<RedisReplyPtr> RedisCapacityStore::Command(const std::vector<std::string>& args) {
  if (cluster_ != nullptr) {  // routed by the key: the first one of an EVAL, else the first argument
    RespArgs wire;
    for (const std::string& a : args) wire.Add(a);
    const RedisCommand command = wire.Command();
    const std::string_view key = args[0] == "EVAL" ? FirstEvalKey(command.wire).value_or("") : std::string_view(args[1]);
    std::vector<absl::StatusOr<RedisReplyPtr>> r =
        cluster_->Execute({&command, 1}, std::vector<int>{KeySlot(key)}, clock_.Now() + kIoTimeout);
    if (!r.front().ok()) return r.front().status();
    if (absl::Status s = ReplyError(**r.front()); !s.ok()) return s;
    return std::move(r.front());
  }
  absl::MutexLock lock(&mu_);
  if (conn_ == nullptr) {
    absl::StatusOr<RedisConnectionPtr> c = connector_.Connect(settings_.connect_timeout);
    if (!c.ok()) return c.status();
    if (absl::Status s = (*c)->SetTimeout(kIoTimeout); !s.ok()) return s;
    conn_ = *std::move(c);
  }
  std::string wire = absl::StrCat("*", args.size(), "\r\n");
  for (const std::string& a : args) {
    absl::StrAppend(&wire, "$", a.size(), "\r\n", a, "\r\n");
  }
  conn_->Append(wire);
  absl::StatusOr<RedisReplyPtr> r = conn_->GetReply(args[0]);
  if (!r.ok()) {
    conn_.reset();  // a connection that saw an error cannot be reused
    return r.status();
  }
  if (absl::Status s = ReplyError(**r); !s.ok()) return s;
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

absl::StatusOr<SlotReservation> RedisCapacityStore::ReserveSlot(std::string_view tenant,
                                                                std::string_view campaign_id, absl::Time interval,
                                                                std::string_view event_id, int64_t batch,
                                                                bool dry_run) {
  absl::StatusOr<RedisReplyPtr> r =
      Command({"EVAL", kReserveSlot, "1", PacedSlotKey(tenant, campaign_id, interval), std::string(event_id),
               absl::StrCat(batch), absl::StrCat(absl::ToInt64Seconds(kPacedSlotTtl)), dry_run ? "1" : "0"});
  if (!r.ok()) return r.status();
  absl::StatusOr<std::vector<int64_t>> v = Integers(**r, 2, "reserve slot");
  if (!v.ok()) return v.status();
  return SlotReservation{(*v)[0] == 1, (*v)[1]};
}

absl::Status RedisCapacityStore::ReturnSlot(std::string_view tenant, std::string_view campaign_id,
                                            absl::Time interval, std::string_view event_id) {
  return Command({"SREM", PacedSlotKey(tenant, campaign_id, interval), std::string(event_id)}).status();
}

absl::Status RedisCapacityStore::CountReleased(std::string_view tenant, std::string_view campaign_id,
                                               std::string_view event_id) {
  return Command({"EVAL", kCountReleased, "1", CapacityKey(tenant, Campaign("released", campaign_id)),
                  std::string(event_id), absl::StrCat(absl::ToInt64Seconds(kFeedbackTtl))})
      .status();
}

absl::StatusOr<CampaignCounts> RedisCapacityStore::AddFeedback(std::string_view tenant,
                                                              std::string_view campaign_id,
                                                              std::string_view signal_id, int64_t contacts,
                                                              int64_t complaints) {
  absl::StatusOr<RedisReplyPtr> r = Command(
      {"EVAL", kAddFeedback, "3", CapacityKey(tenant, Campaign("feedback", campaign_id)),
       CapacityKey(tenant, Campaign("fbseen", campaign_id)), CapacityKey(tenant, Campaign("released", campaign_id)),
       std::string(signal_id), absl::StrCat(contacts), absl::StrCat(complaints),
       absl::StrCat(absl::ToInt64Seconds(kFeedbackTtl))});
  if (!r.ok()) return r.status();
  absl::StatusOr<std::vector<int64_t>> v = Integers(**r, 3, "feedback");
  if (!v.ok()) return v.status();
  return CampaignCounts{.released = (*v)[2], .contacts = (*v)[0], .complaints = (*v)[1]};
}

absl::StatusOr<CampaignCounts> RedisCapacityStore::GetCounts(std::string_view tenant, std::string_view campaign_id) {
  return AddFeedback(tenant, campaign_id, "", 0, 0);
}

}  // namespace tact::store

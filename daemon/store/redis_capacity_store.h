#pragma once

#include "absl/synchronization/mutex.h"
#include "daemon/store/capacity_store.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {

// CapacityStore on Redis (key schema in capacity_store.h). Low traffic (planners, not the message path):
// one connection, used under a lock, dropped and re-made after any I/O error.
// Thread-safety: any thread.
class RedisCapacityStore final : public CapacityStore {
 public:
  explicit RedisCapacityStore(RedisSettings settings) : settings_(std::move(settings)) {}
  absl::Status PutStaffing(const v1::PutStaffingRequest& staffing) override;
  absl::StatusOr<std::optional<v1::PutStaffingRequest>> GetStaffing(std::string_view tenant) override;
  absl::Status PutCampaign(const v1::Campaign& campaign, bool create) override;
  absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(std::string_view tenant,
                                                          std::string_view campaign_id) override;
  absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns(std::string_view tenant) override;
  absl::Status AddNotice(const v1::CampaignNotice& notice) override;
  absl::StatusOr<std::vector<v1::CampaignNotice>> ListNotices(std::string_view tenant) override;

 private:
  // Runs one command; the reply is checked by the caller. UNAVAILABLE on I/O errors (connection dropped).
  absl::StatusOr<RedisReplyPtr> Command(const std::vector<std::string>& args) ABSL_LOCKS_EXCLUDED(mu_);

  const RedisSettings settings_;
  absl::Mutex mu_;
  RedisContextPtr conn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::store

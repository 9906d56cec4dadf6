#pragma once

#include "absl/synchronization/mutex.h"
#include "daemon/store/capacity_store.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {

// CapacityStore on Redis (key schema in capacity_store.h). One connection, used under a lock, dropped and
// re-made after any I/O error (TLS and AUTH as RedisCounterStore's). Planners are low traffic; on the message path only gated campaigns' events come
// here (a paced event: one EVAL before and one after its customer-level decision; campaign state is cached by
// campaign::StoreGateEnforcer), so the one connection bounds gated-campaign throughput per tactd instance.
// On Redis Cluster (settings.cluster_seeds) each command goes to the master of its key's slot instead (a tenant's
// keys share the hash tag {<tenant>}, so the multi-key feedback script stays in one slot), with the routing and
// redirections of RedisCluster and its connection pools.
// Thread-safety: any thread.
class RedisCapacityStore final : public CapacityStore {
 public:
  explicit RedisCapacityStore(RedisSettings settings);
  absl::Status PutStaffing(const v1::PutStaffingRequest& staffing) override;
  absl::StatusOr<std::optional<v1::PutStaffingRequest>> GetStaffing(std::string_view tenant) override;
  absl::Status PutCampaign(const v1::Campaign& campaign, bool create) override;
  absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(std::string_view tenant,
                                                          std::string_view campaign_id) override;
  absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns(std::string_view tenant) override;
  absl::Status AddNotice(const v1::CampaignNotice& notice) override;
  absl::StatusOr<std::vector<v1::CampaignNotice>> ListNotices(std::string_view tenant) override;
  absl::StatusOr<SlotReservation> ReserveSlot(std::string_view tenant, std::string_view campaign_id,
                                              absl::Time interval, std::string_view event_id, int64_t batch,
                                              bool dry_run) override;
  absl::Status ReturnSlot(std::string_view tenant, std::string_view campaign_id, absl::Time interval,
                          std::string_view event_id) override;
  absl::Status CountReleased(std::string_view tenant, std::string_view campaign_id,
                             std::string_view event_id) override;
  absl::StatusOr<CampaignCounts> AddFeedback(std::string_view tenant, std::string_view campaign_id,
                                             std::string_view signal_id, int64_t contacts,
                                             int64_t complaints) override;
  absl::StatusOr<CampaignCounts> GetCounts(std::string_view tenant, std::string_view campaign_id) override;

 private:
  // Runs one command; the reply is checked by the caller. UNAVAILABLE on I/O errors (connection dropped).
  absl::StatusOr<RedisReplyPtr> Command(const std::vector<std::string>& args) ABSL_LOCKS_EXCLUDED(mu_);

  const RedisSettings settings_;
  RedisConnector connector_;  // the same transport and AUTH as the counter store
  absl::Mutex mu_;
  RedisConnectionPtr conn_ ABSL_GUARDED_BY(mu_);
  SystemClock clock_;
  std::unique_ptr<RedisCluster> cluster_;  // set on Redis Cluster
};

}  // namespace tact::store

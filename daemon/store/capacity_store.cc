#include "daemon/store/capacity_store.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::store {

std::string CapacityKey(std::string_view tenant, std::string_view what) {
  return absl::StrCat("tact:cap:{", AsAbsl(tenant), "}:", AsAbsl(what));
}

absl::Status InMemoryCapacityStore::PutStaffing(const v1::PutStaffingRequest& staffing) {
  absl::MutexLock lock(&mu_);
  staffing_[staffing.tenant()] = staffing;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::PutStaffingRequest>> InMemoryCapacityStore::GetStaffing(std::string_view tenant) {
  absl::MutexLock lock(&mu_);
  auto it = staffing_.find(std::string(tenant));
  if (it == staffing_.end()) return std::optional<v1::PutStaffingRequest>();
  return std::optional<v1::PutStaffingRequest>(it->second);
}

absl::Status InMemoryCapacityStore::PutCampaign(const v1::Campaign& campaign, bool create) {
  absl::MutexLock lock(&mu_);
  auto key = std::make_pair(campaign.spec().tenant(), campaign.spec().campaign_id());
  if (create && campaigns_.contains(key)) {
    return absl::AlreadyExistsError(absl::StrCat("campaign '", campaign.spec().campaign_id(), "' already released"));
  }
  campaigns_[key] = campaign;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Campaign>> InMemoryCapacityStore::GetCampaign(std::string_view tenant,
                                                                               std::string_view campaign_id) {
  absl::MutexLock lock(&mu_);
  auto it = campaigns_.find({std::string(tenant), std::string(campaign_id)});
  if (it == campaigns_.end()) return std::optional<v1::Campaign>();
  return std::optional<v1::Campaign>(it->second);
}

absl::StatusOr<std::vector<v1::Campaign>> InMemoryCapacityStore::ListCampaigns(std::string_view tenant) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Campaign> out;
  for (const auto& [key, c] : campaigns_) {
    if (key.first == tenant) out.push_back(c);
  }
  return out;
}

absl::Status InMemoryCapacityStore::AddNotice(const v1::CampaignNotice& notice) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::CampaignNotice>& list = notices_[notice.tenant()];
  list.push_back(notice);
  if (list.size() > kMaxNotices) list.erase(list.begin());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::CampaignNotice>> InMemoryCapacityStore::ListNotices(std::string_view tenant) {
  absl::MutexLock lock(&mu_);
  auto it = notices_.find(std::string(tenant));
  return it == notices_.end() ? std::vector<v1::CampaignNotice>() : it->second;
}

std::string PacedSlotKey(std::string_view tenant, std::string_view campaign_id, absl::Time interval) {
  return CapacityKey(tenant, absl::StrCat("paced:", AsAbsl(campaign_id), ":", absl::ToUnixSeconds(interval)));
}

absl::StatusOr<SlotReservation> InMemoryCapacityStore::ReserveSlot(std::string_view tenant,
                                                                   std::string_view campaign_id, absl::Time interval,
                                                                   std::string_view event_id, int64_t batch,
                                                                   bool dry_run) {
  absl::MutexLock lock(&mu_);
  std::set<std::string>& ids = slots_[PacedSlotKey(tenant, campaign_id, interval)];
  const int64_t used = static_cast<int64_t>(ids.size());
  if (ids.contains(std::string(event_id))) return SlotReservation{true, used};
  if (used >= batch) return SlotReservation{false, used};
  if (dry_run) return SlotReservation{true, used};
  ids.insert(std::string(event_id));
  return SlotReservation{true, used + 1};
}

absl::Status InMemoryCapacityStore::ReturnSlot(std::string_view tenant, std::string_view campaign_id,
                                               absl::Time interval, std::string_view event_id) {
  absl::MutexLock lock(&mu_);
  slots_[PacedSlotKey(tenant, campaign_id, interval)].erase(std::string(event_id));
  return absl::OkStatus();
}

CampaignCounts InMemoryCapacityStore::CountsLocked(const std::string& key) {
  const Figures& f = figures_[key];
  return CampaignCounts{static_cast<int64_t>(f.released.size()), f.contacts, f.complaints};
}

absl::Status InMemoryCapacityStore::CountReleased(std::string_view tenant, std::string_view campaign_id,
                                                  std::string_view event_id) {
  absl::MutexLock lock(&mu_);
  figures_[CapacityKey(tenant, absl::StrCat("feedback:", AsAbsl(campaign_id)))].released.insert(std::string(event_id));
  return absl::OkStatus();
}

absl::StatusOr<CampaignCounts> InMemoryCapacityStore::AddFeedback(std::string_view tenant,
                                                                 std::string_view campaign_id,
                                                                 std::string_view signal_id, int64_t contacts,
                                                                 int64_t complaints) {
  absl::MutexLock lock(&mu_);
  const std::string key = CapacityKey(tenant, absl::StrCat("feedback:", AsAbsl(campaign_id)));
  Figures& f = figures_[key];
  if (signal_id.empty() || f.signals.insert(std::string(signal_id)).second) {
    f.contacts += contacts;
    f.complaints += complaints;
  }
  return CountsLocked(key);
}

absl::StatusOr<CampaignCounts> InMemoryCapacityStore::GetCounts(std::string_view tenant,
                                                               std::string_view campaign_id) {
  absl::MutexLock lock(&mu_);
  return CountsLocked(CapacityKey(tenant, absl::StrCat("feedback:", AsAbsl(campaign_id))));
}

}  // namespace tact::store

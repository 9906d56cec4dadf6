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

}  // namespace tact::store

#include "daemon/decision/policy_archive.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/core/token_codec.h"
#include "daemon/ops/log.h"

namespace tact::decision {

std::string EncodeArchivedFiles(const std::vector<policy::PolicyFile>& files) {
  TokenWriter w;
  w.Raw("a1;");
  w.Int(static_cast<int64_t>(files.size()));
  for (const policy::PolicyFile& f : files) {
    w.Str(f.path);
    w.Str(f.text);
  }
  return w.Take();
}

absl::StatusOr<std::vector<policy::PolicyFile>> DecodeArchivedFiles(std::string_view text) {
  TokenReader r(text);
  size_t n = 0;
  if (!r.Literal("a1;") || !r.Count(&n)) return absl::InternalError("archived policy: malformed");
  std::vector<policy::PolicyFile> files;
  for (size_t i = 0; i < n; ++i) {
    std::string_view path;
    std::string_view body;
    if (!r.Str(&path) || !r.Str(&body)) return absl::InternalError("archived policy: malformed");
    files.push_back({std::string(path), std::string(body)});
  }
  if (!r.Done()) return absl::InternalError("archived policy: malformed");
  return files;
}

PolicyArchive::PolicyArchive(const Clock& clock, PolicyArchiveOptions options)
    : clock_(clock), options_(options) {}

void PolicyArchive::AttachStore(store::CounterStore* store) { store_.store(store); }

void PolicyArchive::KeepLocked(std::shared_ptr<const policy::Policy> policy) {
  const auto same = [&](const std::shared_ptr<const policy::Policy>& p) { return p->digest == policy->digest; };
  kept_.erase(std::remove_if(kept_.begin(), kept_.end(), same), kept_.end());
  kept_.push_back(std::move(policy));
  while (kept_.size() > std::max<size_t>(options_.capacity, 1)) kept_.pop_front();
}

void PolicyArchive::Remember(std::shared_ptr<const policy::Policy> policy, std::vector<policy::PolicyFile> files) {
  if (policy == nullptr) return;
  auto text = std::make_shared<const std::string>(EncodeArchivedFiles(files));
  absl::MutexLock lock(&mu_);
  not_found_.erase(policy->digest);
  if (policy->digest != active_digest_) {
    active_digest_ = policy->digest;
    active_text_ = std::move(text);
    put_at_ = absl::InfinitePast();
    put_ok_ = false;
  }
  KeepLocked(std::move(policy));
}

absl::Status PolicyArchive::Refresh() {
  store::CounterStore* store = store_.load();
  std::string digest;
  std::shared_ptr<const std::string> text;
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    if (store == nullptr || active_text_ == nullptr) return absl::OkStatus();
    const absl::Duration due = put_ok_ ? options_.refresh_every : options_.retry_after;
    if (put_at_ != absl::InfinitePast() && now - put_at_ < due) return absl::OkStatus();
    put_at_ = now;  // tried now: the next try is due from here, whatever the outcome
    digest = active_digest_;
    text = active_text_;
  }
  const absl::Status s = store->PutArchived(digest, *text, options_.ttl, now + options_.deadline);
  absl::MutexLock lock(&mu_);
  if (digest == active_digest_) put_ok_ = s.ok() || absl::IsUnimplemented(s);
  if (absl::IsUnimplemented(s)) {  // a store without an archive: asked again only at the next refresh
    if (!said_unimplemented_) {
      ops::Log(ops::LogLevel::kInfo, "policy.archive_unavailable", {{"error", std::string(s.message())}});
    }
    said_unimplemented_ = true;
    return s;
  }
  if (s.ok()) {
    counts_.puts++;
    ops::Log(ops::LogLevel::kInfo, "policy.archived",
             {{"digest", digest}, {"ttl", absl::FormatDuration(options_.ttl)}});
    return s;
  }
  counts_.put_failures++;
  ops::Log(ops::LogLevel::kWarning, "policy.archive_failed",
           {{"digest", digest},
            {"error", std::string(s.message())},
            {"detail", "retried; until then a redelivered event decided under this policy on another instance gets "
                       "its earlier verdict without its rules"}});
  return s;
}

std::shared_ptr<const policy::Policy> PolicyArchive::ReadFromStore(store::CounterStore& store,
                                                                   std::string_view digest) {
  absl::StatusOr<std::optional<std::string>> text = store.GetArchived(digest, clock_.Now() + options_.deadline);
  if (!text.ok()) return nullptr;  // an outage, UNIMPLEMENTED, a bad name: decided without it
  if (!text->has_value()) {
    absl::MutexLock lock(&mu_);
    if (not_found_.size() >= 64) not_found_.clear();  // a bound; digests come only from tactd's own markers
    not_found_[std::string(digest)] = clock_.Now();
    return nullptr;
  }
  absl::StatusOr<std::vector<policy::PolicyFile>> files = DecodeArchivedFiles(**text);
  if (!files.ok()) return nullptr;
  absl::StatusOr<policy::Policy> parsed = policy::ParsePolicy(*files);
  if (!parsed.ok() || parsed->digest != digest) return nullptr;  // never a policy other than the one named
  return std::make_shared<const policy::Policy>(*std::move(parsed));
}

std::shared_ptr<const policy::Policy> PolicyArchive::Find(std::string_view digest) {
  store::CounterStore* store = store_.load();
  {
    absl::MutexLock lock(&mu_);
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
      if ((*it)->digest == digest) return *it;
    }
    if (store == nullptr) return nullptr;
    if (auto it = not_found_.find(digest); it != not_found_.end()) {
      if (clock_.Now() - it->second < options_.not_found_for) return nullptr;
      not_found_.erase(it);
    }
    counts_.store_reads++;
  }
  std::shared_ptr<const policy::Policy> found = ReadFromStore(*store, digest);
  if (found == nullptr) return nullptr;
  absl::MutexLock lock(&mu_);
  KeepLocked(found);
  return found;
}

PolicyArchive::Counts PolicyArchive::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

}  // namespace tact::decision

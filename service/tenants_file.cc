#include "service/tenants_file.h"

#include <exception>
#include <initializer_list>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace sessiond::service {
namespace {

using Json = nlohmann::json;

// The largest tenants file accepted: far more than thousands of tenants need.
constexpr size_t kMaxFileBytes = size_t{1} << 20;
constexpr size_t kMaxNameBytes = 32;

constexpr Right kRights[] = {Right::kSessions, Right::kList, Right::kRevoke, Right::kWatch};

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// INVALID_ARGUMENT naming the first key of `object` not in `known`.
absl::Status CheckKnownKeys(const Json& object, absl::string_view field,
                            std::initializer_list<absl::string_view> known) {
  for (const auto& item : object.items()) {
    bool found = false;
    for (absl::string_view name : known) found = found || item.key() == name;
    if (!found) {
      return Invalid(field, absl::StrCat("unknown field \"", absl::CEscape(item.key()),
                                         "\"; the fields are ", absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<Sha256> ParseDigest(const Json& value, const std::string& field) {
  if (!value.is_string() || value.get_ref<const std::string&>().size() != 64) {
    return Invalid(field, "not a SHA-256 digest (64 hex digits; sha256sum of the token)");
  }
  const std::string& hex = value.get_ref<const std::string&>();
  Sha256 digest;
  for (size_t i = 0; i < digest.size(); ++i) {
    auto nibble = [](char c) -> int {
      if (absl::ascii_isdigit(c)) return c - '0';
      c = absl::ascii_tolower(c);
      return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return Invalid(field, "not a SHA-256 digest (64 hex digits; sha256sum of the token)");
    }
    digest[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return digest;
}

// A non-empty array at `object[key]`, or an empty one when absent.
absl::StatusOr<const Json*> OptionalArray(const Json& object, const char* key,
                                          const std::string& field) {
  static const Json kEmpty = Json::array();
  auto it = object.find(key);
  if (it == object.end()) return &kEmpty;
  if (!it->is_array()) return Invalid(absl::StrCat(field, ".", key), "not an array");
  return &*it;
}

absl::StatusOr<absl::Duration> ParseTimeout(const Json& value, const std::string& field) {
  absl::Duration duration;
  if (!value.is_string() || !absl::ParseDuration(value.get_ref<const std::string&>(), &duration) ||
      duration <= absl::ZeroDuration()) {
    return Invalid(field, "not a positive duration (such as \"20m\" or \"12h\")");
  }
  return duration;
}

absl::StatusOr<size_t> ParseCount(const Json& value, const std::string& field) {
  if (!value.is_number_unsigned()) return Invalid(field, "not a non-negative integer");
  return value.get<size_t>();
}

absl::Status ParseLimits(const Json& limits, const std::string& field, TenantLimits* out) {
  if (!limits.is_object()) return Invalid(field, "not an object");
  if (absl::Status status =
          CheckKnownKeys(limits, field,
                         {"max_live_sessions", "max_session_bytes", "default_idle_timeout",
                          "max_idle_timeout", "default_absolute_timeout", "max_absolute_timeout"});
      !status.ok()) {
    return status;
  }
  for (const auto& item : limits.items()) {
    const std::string name = absl::StrCat(field, ".", item.key());
    if (item.key() == "max_live_sessions" || item.key() == "max_session_bytes") {
      absl::StatusOr<size_t> count = ParseCount(item.value(), name);
      if (!count.ok()) return count.status();
      (item.key() == "max_live_sessions" ? out->max_live_sessions : out->max_session_bytes) =
          *count;
      continue;
    }
    absl::StatusOr<absl::Duration> timeout = ParseTimeout(item.value(), name);
    if (!timeout.ok()) return timeout.status();
    if (item.key() == "default_idle_timeout") out->default_idle_timeout = *timeout;
    if (item.key() == "max_idle_timeout") out->max_idle_timeout = *timeout;
    if (item.key() == "default_absolute_timeout") out->default_absolute_timeout = *timeout;
    if (item.key() == "max_absolute_timeout") out->max_absolute_timeout = *timeout;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> ParseRights(const Json& tenant, const std::string& field) {
  if (!tenant.contains("rights")) {
    uint8_t all = 0;
    for (Right right : kRights) all |= static_cast<uint8_t>(right);
    return all;
  }
  absl::StatusOr<const Json*> rights = OptionalArray(tenant, "rights", field);
  if (!rights.ok()) return rights.status();
  uint8_t set = 0;
  for (size_t i = 0; i < (*rights)->size(); ++i) {
    const Json& value = (**rights)[i];
    bool found = false;
    for (Right right : kRights) {
      if (value.is_string() && value.get_ref<const std::string&>() == RightName(right)) {
        set |= static_cast<uint8_t>(right);
        found = true;
      }
    }
    if (!found) {
      return Invalid(absl::StrCat(field, ".rights[", i, "]"),
                     "not a right; the rights are sessions, list, revoke, watch");
    }
  }
  return set;
}

// Names already taken by earlier tenants, so that two tenants never share one.
struct Seen {
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> digests;
  absl::flat_hash_set<std::string> identities;
};

absl::StatusOr<TenantConfig> ParseTenant(const Json& tenant, const std::string& field, Seen& seen) {
  if (!tenant.is_object()) return Invalid(field, "not an object");
  if (absl::Status status = CheckKnownKeys(
          tenant, field, {"name", "token_sha256", "client_identities", "rights", "limits"});
      !status.ok()) {
    return status;
  }
  TenantConfig config;
  auto name = tenant.find("name");
  if (name == tenant.end() || !name->is_string() ||
      !ValidName(name->get_ref<const std::string&>())) {
    return Invalid(absl::StrCat(field, ".name"),
                   absl::StrCat("missing or not a tenant name ([a-z0-9_-], 1 to ", kMaxNameBytes,
                                " characters)"));
  }
  config.name = name->get<std::string>();
  if (!seen.names.insert(config.name).second) {
    return Invalid(absl::StrCat(field, ".name"),
                   absl::StrCat("\"", config.name, "\" names an earlier tenant too"));
  }
  absl::StatusOr<const Json*> digests = OptionalArray(tenant, "token_sha256", field);
  if (!digests.ok()) return digests.status();
  for (size_t i = 0; i < (*digests)->size(); ++i) {
    const std::string item = absl::StrCat(field, ".token_sha256[", i, "]");
    absl::StatusOr<Sha256> digest = ParseDigest((**digests)[i], item);
    if (!digest.ok()) return digest.status();
    if (!seen.digests.insert(std::string(digest->begin(), digest->end())).second) {
      return Invalid(item, "the same token is listed twice (each token belongs to one tenant)");
    }
    config.token_sha256.push_back(*digest);
  }
  absl::StatusOr<const Json*> identities = OptionalArray(tenant, "client_identities", field);
  if (!identities.ok()) return identities.status();
  for (size_t i = 0; i < (*identities)->size(); ++i) {
    const Json& identity = (**identities)[i];
    const std::string item = absl::StrCat(field, ".client_identities[", i, "]");
    if (!identity.is_string() || identity.get_ref<const std::string&>().empty()) {
      return Invalid(item, "not a certificate identity (a subject alternative name)");
    }
    if (!seen.identities.insert(identity.get<std::string>()).second) {
      return Invalid(item, "listed twice (each identity belongs to one tenant)");
    }
    config.client_identities.push_back(identity.get<std::string>());
  }
  if (config.token_sha256.empty() && config.client_identities.empty()) {
    return Invalid(field, "no token_sha256 and no client_identities: nobody could call as it");
  }
  absl::StatusOr<uint8_t> rights = ParseRights(tenant, field);
  if (!rights.ok()) return rights.status();
  config.rights = *rights;
  if (auto limits = tenant.find("limits"); limits != tenant.end()) {
    if (absl::Status status = ParseLimits(*limits, absl::StrCat(field, ".limits"), &config.limits);
        !status.ok()) {
      return status;
    }
  }
  return config;
}

// The JSON document in `text`, or INVALID_ARGUMENT with the parser's position of the error (its
// message up to where it would quote the file).
absl::StatusOr<Json> ParseJson(absl::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const std::exception& error) {
    absl::string_view message = error.what();
    message = message.substr(0, message.find("; last read"));
    return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", message));
  }
}

}  // namespace

absl::string_view RightName(Right right) {
  switch (right) {
    case Right::kSessions:
      return "sessions";
    case Right::kList:
      return "list";
    case Right::kRevoke:
      return "revoke";
    case Right::kWatch:
      return "watch";
  }
  return "";
}

absl::StatusOr<std::vector<TenantConfig>> ParseTenantsFile(absl::string_view text) {
  if (text.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file is ", text.size(), " bytes; the limit is ", kMaxFileBytes));
  }
  absl::StatusOr<Json> document = ParseJson(text);
  if (!document.ok()) return document.status();
  if (!document->is_object()) return Invalid("(top level)", "not an object");
  if (absl::Status status = CheckKnownKeys(*document, "(top level)", {"tenants"}); !status.ok()) {
    return status;
  }
  auto tenants = document->find("tenants");
  if (tenants == document->end() || !tenants->is_array() || tenants->empty()) {
    return Invalid("tenants", "missing, or not a non-empty array");
  }
  std::vector<TenantConfig> configs;
  Seen seen;
  for (size_t i = 0; i < tenants->size(); ++i) {
    absl::StatusOr<TenantConfig> config =
        ParseTenant((*tenants)[i], absl::StrCat("tenants[", i, "]"), seen);
    if (!config.ok()) return config.status();
    configs.push_back(*std::move(config));
  }
  return configs;
}

}  // namespace sessiond::service

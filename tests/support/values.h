// Builders for sessiond.v1.Value, so tests write Int(3) or Text("dark") instead of four lines.
#ifndef SESSIOND_TESTS_SUPPORT_VALUES_H_
#define SESSIOND_TESTS_SUPPORT_VALUES_H_

#include <cstdint>
#include <string>

#include "sessiond/v1/session.pb.h"

namespace sessiond::testing {

inline v1::Value Text(std::string text) {
  v1::Value value;
  value.set_string_value(std::move(text));
  return value;
}

inline v1::Value Blob(std::string bytes) {
  v1::Value value;
  value.set_bytes_value(std::move(bytes));
  return value;
}

inline v1::Value Json(std::string text) {
  v1::Value value;
  value.set_json_value(std::move(text));
  return value;
}

inline v1::Value Int(int64_t number) {
  v1::Value value;
  value.set_int64_value(number);
  return value;
}

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_VALUES_H_

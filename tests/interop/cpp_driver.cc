// The C++ driver of the cross-language matrix (tests/interop/README.md): writes and reads the
// typed test vectors of clients/testdata and races a commit, through sessiond::Session only.
//
//   interop_driver_cpp write VECTORS
//   interop_driver_cpp read VECTORS ID
//   interop_driver_cpp commit-after-go ID KEY VALUE
//
// The server address comes from SESSIOND_ADDR (127.0.0.1:PORT).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/create_channel.h"
#include "nlohmann/json.hpp"
#include "sessiond/client.h"
#include "sessiond/session.h"

namespace {

using nlohmann::json;

// One test vector as clients/testdata/README.md encodes it.
struct Vector {
  std::string key;
  std::string type;
  json encoded;  // The whole vector object.
};

std::vector<Vector> ReadVectors(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  const json document = json::parse(in);
  std::vector<Vector> vectors;
  for (const json& vector : document.at("vectors")) {
    vectors.push_back(
        {vector.at("key").get<std::string>(), vector.at("type").get<std::string>(), vector});
  }
  return vectors;
}

// JSON text for messages; invalid UTF-8 shows as U+FFFD.
std::string Quote(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t Int64Of(const Vector& vector) {
  int64_t value;
  if (!absl::SimpleAtoi(vector.encoded.at("value").get<std::string>(), &value)) {
    throw std::runtime_error(vector.key + ": bad int64 encoding");
  }
  return value;
}

uint64_t BitsOf(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

double DoubleOf(const Vector& vector) {
  uint64_t bits;
  if (!absl::SimpleHexAtoi(vector.encoded.at("bits").get<std::string>(), &bits)) {
    throw std::runtime_error(vector.key + ": bad double encoding");
  }
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

std::string BytesOf(const Vector& vector) {
  std::string bytes;
  if (!absl::Base64Unescape(vector.encoded.at("base64").get<std::string>(), &bytes)) {
    throw std::runtime_error(vector.key + ": bad base64");
  }
  return bytes;
}

// Records the vector's value with the typed setter of its type.
void SetVector(sessiond::Session& session, const Vector& vector) {
  const json& encoded = vector.encoded;
  if (vector.type == "string") {
    session.SetString(vector.key, encoded.at("value").get<std::string>());
  } else if (vector.type == "int64") {
    session.SetInt64(vector.key, Int64Of(vector));
  } else if (vector.type == "double") {
    session.SetDouble(vector.key, DoubleOf(vector));
  } else if (vector.type == "bool") {
    session.SetBool(vector.key, encoded.at("value").get<bool>());
  } else if (vector.type == "bytes") {
    session.SetBytes(vector.key, BytesOf(vector));
  } else if (vector.type == "json") {
    session.SetJson(vector.key, encoded.at("value").dump());
  } else {
    throw std::runtime_error(vector.key + ": unknown type " + vector.type);
  }
}

std::string DescribeDouble(double value) {
  return absl::StrCat("double ", value, " (bits ", absl::Hex(BitsOf(value), absl::kZeroPad16), ")");
}

// What `key` holds, typed, for a mismatch message: "string \"a\"", "int64 5", ... or "nothing".
std::string Describe(sessiond::Session& session, const std::string& key) {
  if (auto value = session.GetString(key)) return "string " + Quote(*value);
  if (auto value = session.GetInt64(key)) return absl::StrCat("int64 ", *value);
  if (auto value = session.GetDouble(key)) return DescribeDouble(*value);
  if (auto value = session.GetBool(key)) return absl::StrCat("bool ", *value ? "true" : "false");
  if (auto value = session.GetBytes(key)) return "bytes " + absl::Base64Escape(*value);
  if (auto value = session.GetJson(key)) return "json " + *value;
  return "nothing";
}

// Whether the session's value of the vector's key reads back, through the getter of the vector's
// type, with exactly the vector's value.
bool Matches(sessiond::Session& session, const Vector& vector) {
  const json& encoded = vector.encoded;
  if (vector.type == "string") {
    return session.GetString(vector.key) == encoded.at("value").get<std::string>();
  }
  if (vector.type == "int64") return session.GetInt64(vector.key) == Int64Of(vector);
  if (vector.type == "bool") return session.GetBool(vector.key) == encoded.at("value").get<bool>();
  if (vector.type == "bytes") return session.GetBytes(vector.key) == BytesOf(vector);
  if (vector.type == "double") {
    const std::optional<double> got = session.GetDouble(vector.key);
    const double expected = DoubleOf(vector);
    return got && (std::isnan(expected) ? std::isnan(*got) : BitsOf(*got) == BitsOf(expected));
  }
  if (vector.type == "json") {
    const std::optional<std::string> got = session.GetJson(vector.key);
    return got && json::accept(*got) && json::parse(*got) == encoded.at("value");
  }
  return false;
}

std::string Expected(const Vector& vector) {
  if (vector.type == "double") return DescribeDouble(DoubleOf(vector));
  if (vector.type == "bytes") return "bytes " + vector.encoded.at("base64").get<std::string>();
  if (vector.type == "int64") return absl::StrCat("int64 ", Int64Of(vector));
  return vector.type + " " + Quote(vector.encoded.at("value"));
}

int Write(const sessiond::Client& client, const std::string& vectors_path) {
  const std::vector<Vector> vectors = ReadVectors(vectors_path);
  absl::StatusOr<sessiond::Session> session = sessiond::Session::Create(client);
  if (!session.ok()) {
    std::cerr << "create: " << session.status() << "\n";
    return 1;
  }
  for (const Vector& vector : vectors) {
    SetVector(*session, vector);
  }
  if (absl::Status committed = session->Commit(); !committed.ok()) {
    std::cerr << "commit: " << committed << "\n";
    return 1;
  }
  std::cout << session->Id() << "\n";
  return 0;
}

int Read(const sessiond::Client& client, const std::string& vectors_path, const std::string& id) {
  const std::vector<Vector> vectors = ReadVectors(vectors_path);
  sessiond::Session session(client, id);
  if (absl::Status loaded = session.Load(); !loaded.ok()) {
    std::cerr << "load " << id << ": " << loaded << "\n";
    return 1;
  }
  std::set<std::string> expected_keys;
  for (const Vector& vector : vectors) expected_keys.insert(vector.key);
  int mismatches = 0;
  for (const std::string& key : session.Keys()) {
    if (!expected_keys.contains(key)) {
      std::cerr << Quote(key) << ": expected no such key, got " << Describe(session, key) << "\n";
      ++mismatches;
    }
  }
  for (const Vector& vector : vectors) {
    if (Matches(session, vector)) continue;
    std::cerr << Quote(vector.key) << ": expected " << Expected(vector) << ", got "
              << Describe(session, vector.key) << "\n";
    ++mismatches;
  }
  return mismatches == 0 ? 0 : 1;
}

int CommitAfterGo(const sessiond::Client& client, const std::string& id, const std::string& key,
                  const std::string& value) {
  sessiond::Session session(client, id);
  if (absl::Status loaded = session.Load(); !loaded.ok()) {
    std::cerr << "load " << id << ": " << loaded << "\n";
    return 1;
  }
  std::cout << "loaded " << session.Info().version() << std::endl;
  std::string line;
  while (line != "go") {
    if (!std::getline(std::cin, line)) {
      std::cerr << "stdin closed before a line 'go'\n";
      return 1;
    }
  }
  session.SetString(key, value);
  absl::Status committed = session.Commit();
  if (committed.ok()) {
    std::cout << "committed " << session.Info().version() << std::endl;
    return 0;
  }
  if (absl::IsAborted(committed)) {
    std::cout << "conflict " << absl::StrJoin(session.ConflictingKeys(), ",") << std::endl;
    return 0;
  }
  std::cerr << "commit: " << committed << "\n";
  return 1;
}

int Usage() {
  std::cerr << "usage: interop_driver_cpp write VECTORS | read VECTORS ID | "
               "commit-after-go ID KEY VALUE   (SESSIOND_ADDR=host:port)\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* address = std::getenv("SESSIOND_ADDR");
  if (address == nullptr || args.empty()) return Usage();
  const sessiond::Client client(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  try {
    if (args[0] == "write" && args.size() == 2) return Write(client, args[1]);
    if (args[0] == "read" && args.size() == 3) return Read(client, args[1], args[2]);
    if (args[0] == "commit-after-go" && args.size() == 4) {
      return CommitAfterGo(client, args[1], args[2], args[3]);
    }
  } catch (const std::exception& error) {  // A malformed vectors file.
    std::cerr << "vectors: " << error.what() << "\n";
    return 1;
  }
  return Usage();
}

#pragma once

#include <hiredis/hiredis.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tact::store {

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// TLS to Redis (redis.tls*). Debian's hiredis 0.14 has no TLS: the TLS transport is OpenSSL on a socket of its
// own, with hiredis' reply reader.
struct RedisTlsSettings {
  bool enabled = false;
  std::string ca_file;      // PEM CA bundle the server's certificate must chain to; empty = the system trust store
  std::string cert_file;    // PEM client certificate chain (servers with tls-auth-clients); optional
  std::string key_file;     // its private key
  std::string server_name;  // name (or IP) the certificate must carry, and SNI; empty = the host of the address
};

// AUTH after every connect, before any other command: `AUTH <username> <password>` (an ACL user) or
// `AUTH <password>` (requirepass / the default user). No password: no AUTH.
struct RedisAuthSettings {
  std::string username;
  std::string password;       // secret (TACT_REDIS_PASSWORD)
  std::string password_file;  // read on every new connection, so a rotated Secret applies on reconnect
};

// One connection to Redis, plaintext (a hiredis context) or TLS (OpenSSL). Commands go in Redis' wire format.
// Thread-safety: one thread at a time (the stores lend a connection to one call).
class RedisConnection {
 public:
  virtual ~RedisConnection() = default;
  // Queues one command (wire format); the next GetReply sends everything queued.
  virtual void Append(std::string_view wire) = 0;
  // Sends what is queued and reads the next reply. I/O error, timeout or protocol error: UNAVAILABLE
  // "redis <what>: <cause>", and the connection is broken() from then on (its pending replies are lost).
  virtual absl::StatusOr<RedisReplyPtr> GetReply(std::string_view what) = 0;
  // Sends what is queued without reading (the next GetReply reads its reply): to have several nodes work at once.
  // Errors as GetReply's.
  virtual absl::Status Flush(std::string_view what) = 0;
  // Every later wait on the socket (to send, to receive) lasts at most `timeout` (as hiredis' redisSetTimeout).
  virtual absl::Status SetTimeout(absl::Duration timeout) = 0;
  virtual bool broken() const = 0;

  // One command from its arguments, and its reply (an error reply is returned as a reply, not as an error).
  absl::StatusOr<RedisReplyPtr> Command(std::initializer_list<std::string_view> args, std::string_view what);
};
using RedisConnectionPtr = std::unique_ptr<RedisConnection>;

// `args` in Redis' wire format (an array of bulk strings).
std::string EncodeRedisCommand(std::initializer_list<std::string_view> args);

// Makes connections to one Redis address: TCP (TLS when enabled), keepalive, then AUTH. With TLS, the SSL_CTX
// (CA, client certificate and key) is rebuilt when any of its files changes (mtime, size or inode: a Kubernetes
// Secret's atomic symlink swap counts), so a rotated certificate applies to the next new connection; connections
// already open keep the certificate they were made with.
// Thread-safety: any thread.
class RedisConnector {
 public:
  RedisConnector(std::string host, int port, RedisTlsSettings tls, RedisAuthSettings auth);
  ~RedisConnector();
  RedisConnector(const RedisConnector&) = delete;
  RedisConnector& operator=(const RedisConnector&) = delete;

  // Connects, handshakes and authenticates within `timeout` (each wait at most `timeout`), and leaves the
  // connection with that I/O timeout. UNAVAILABLE with a clear cause: "redis connect: ...", "redis tls: certificate
  // verification failed: ...", "redis: authentication failed (WRONGPASS ...)".
  absl::StatusOr<RedisConnectionPtr> Connect(absl::Duration timeout);
  bool tls() const { return tls_.enabled; }

 private:
  class TlsContext;  // the SSL_CTX and the file stamps it was built from
  const std::string host_;
  const int port_;
  const RedisTlsSettings tls_;
  const RedisAuthSettings auth_;
  std::unique_ptr<TlsContext> tls_context_;
};

// Checks the files a TLS / AUTH configuration names can be read and loaded (CA, certificate and key match,
// password file). INVALID_ARGUMENT naming the setting and the file.
absl::Status CheckRedisSecurity(const RedisTlsSettings& tls, const RedisAuthSettings& auth);

}  // namespace tact::store

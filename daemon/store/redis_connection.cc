#include "daemon/store/redis_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/read.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::store {

std::string EncodeRedisCommand(std::initializer_list<std::string_view> args) {
  std::string out = absl::StrCat("*", args.size(), "\r\n");
  for (std::string_view a : args) {
    absl::StrAppend(&out, "$", a.size(), "\r\n");
    out.append(a);
    out.append("\r\n");
  }
  return out;
}

absl::StatusOr<RedisReplyPtr> RedisConnection::Command(std::initializer_list<std::string_view> args,
                                                       std::string_view what) {
  Append(EncodeRedisCommand(args));
  return GetReply(what);
}

namespace {

absl::Status Unavailable(std::string_view what, std::string_view cause) {
  return absl::UnavailableError(absl::StrCat("redis ", AsAbsl(what), ": ", AsAbsl(cause)));
}

// The OpenSSL errors queued on this thread, oldest first, and the queue emptied.
std::string OpensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out.append("; ");
    out.append(buf);
  }
  return out.empty() ? "unknown error" : out;
}

// A hiredis context (plaintext).
class PlainConnection final : public RedisConnection {
 public:
  explicit PlainConnection(RedisContextPtr c) : c_(std::move(c)) {}
  void Append(std::string_view wire) override { redisAppendFormattedCommand(c_.get(), wire.data(), wire.size()); }
  absl::StatusOr<RedisReplyPtr> GetReply(std::string_view what) override {
    void* raw = nullptr;
    if (redisGetReply(c_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return Unavailable(what, c_->errstr);
    }
    return RedisReplyPtr(static_cast<redisReply*>(raw));
  }
  absl::Status Flush(std::string_view what) override {
    for (int done = 0; done == 0;) {
      if (redisBufferWrite(c_.get(), &done) != REDIS_OK) return Unavailable(what, c_->errstr);
    }
    return absl::OkStatus();
  }
  absl::Status SetTimeout(absl::Duration timeout) override {
    if (redisSetTimeout(c_.get(), absl::ToTimeval(timeout)) != REDIS_OK) {
      return Unavailable("set timeout", c_->errstr);
    }
    return absl::OkStatus();
  }
  bool broken() const override { return c_->err != 0; }

 private:
  RedisContextPtr c_;
};

// Waits until `fd` is ready for `events` (POLLIN / POLLOUT), at most `timeout`. False on timeout or poll error.
bool WaitFd(int fd, short events, absl::Duration timeout) {
  pollfd p{.fd = fd, .events = events, .revents = 0};
  const int ms = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout)));
  for (;;) {
    const int n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

// OpenSSL on a non-blocking socket; replies parsed by hiredis' reader.
class TlsConnection final : public RedisConnection {
 public:
  TlsConnection(int fd, std::shared_ptr<SSL_CTX> ctx, absl::Duration timeout)
      : fd_(fd), ctx_(std::move(ctx)), reader_(redisReaderCreate()), timeout_(timeout) {}
  ~TlsConnection() override {
    if (ssl_ != nullptr && !broken_) SSL_shutdown(ssl_.get());  // best effort close_notify, never waits
    ssl_.reset();
    close(fd_);
  }

  // SNI and the name check, then the handshake.
  absl::Status Handshake(const std::string& server_name) {
    ssl_.reset(SSL_new(ctx_.get()));
    if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), fd_) != 1) {
      return Unavailable("tls", OpensslErrors());
    }
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    in6_addr ip6;
    in_addr ip4;
    const bool is_ip = inet_pton(AF_INET, server_name.c_str(), &ip4) == 1 ||
                       inet_pton(AF_INET6, server_name.c_str(), &ip6) == 1;
    if (is_ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), server_name.c_str()) != 1) {
        return Unavailable("tls", "cannot set the server IP to check");
      }
    } else {
      if (SSL_set_tlsext_host_name(ssl_.get(), server_name.c_str()) != 1 ||
          SSL_set1_host(ssl_.get(), server_name.c_str()) != 1) {
        return Unavailable("tls", "cannot set the server name to check");
      }
    }
    ERR_clear_error();
    for (;;) {
      const int rc = SSL_connect(ssl_.get());
      if (rc == 1) return absl::OkStatus();
      const int err = SSL_get_error(ssl_.get(), rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!WaitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout_)) {
          broken_ = true;
          return Unavailable("tls", "handshake timed out (is it a TLS port?)");
        }
        continue;
      }
      broken_ = true;
      const long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK) {
        return Unavailable("tls", absl::StrCat("certificate verification failed: ",
                                               X509_verify_cert_error_string(verify),
                                               " (check redis.tls_ca_file and redis.tls_server_name)"));
      }
      if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        return Unavailable("tls", "handshake failed: connection closed by the server (is it a TLS port?)");
      }
      return Unavailable("tls", absl::StrCat("handshake failed: ", OpensslErrors()));
    }
  }

  void Append(std::string_view wire) override { out_.append(wire); }

  absl::StatusOr<RedisReplyPtr> GetReply(std::string_view what) override {
    if (broken_) return Unavailable(what, error_);
    if (absl::Status s = Flush(what); !s.ok()) return s;
    char buf[16 * 1024];
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
        return Fail(what, absl::StrCat("protocol error: ", reader_->errstr));
      }
      if (raw != nullptr) return RedisReplyPtr(static_cast<redisReply*>(raw));
      ERR_clear_error();
      errno = 0;
      const int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n > 0) {
        if (redisReaderFeed(reader_.get(), buf, static_cast<size_t>(n)) != REDIS_OK) {
          return Fail(what, absl::StrCat("protocol error: ", reader_->errstr));
        }
        continue;
      }
      if (absl::Status s = WaitAfter(n, what); !s.ok()) return s;
    }
  }

  absl::Status Flush(std::string_view what) override {
    if (broken_) return Unavailable(what, error_);
    size_t off = 0;
    while (off < out_.size()) {
      ERR_clear_error();
      errno = 0;
      const size_t chunk = std::min<size_t>(out_.size() - off, 1 << 30);
      const int n = SSL_write(ssl_.get(), out_.data() + off, static_cast<int>(chunk));
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (absl::Status s = WaitAfter(n, what); !s.ok()) return s;
    }
    out_.clear();
    return absl::OkStatus();
  }

  absl::Status SetTimeout(absl::Duration timeout) override {
    timeout_ = timeout;
    return absl::OkStatus();
  }
  bool broken() const override { return broken_; }

 private:
  absl::Status Fail(std::string_view what, std::string cause) {
    broken_ = true;
    error_ = std::move(cause);
    return Unavailable(what, error_);
  }

  // After an SSL_read / SSL_write returned `rc` <= 0: waits for the socket as OpenSSL asks, or fails.
  absl::Status WaitAfter(int rc, std::string_view what) {
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!WaitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout_)) {
        return Fail(what, "Resource temporarily unavailable (timed out)");
      }
      return absl::OkStatus();
    }
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
      return Fail(what, "Server closed the connection");
    }
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return Fail(what, std::strerror(errno));
    }
    return Fail(what, absl::StrCat("tls: ", OpensslErrors()));
  }


  const int fd_;
  std::shared_ptr<SSL_CTX> ctx_;  // kept alive for this connection across a rotation
  std::unique_ptr<SSL, SslDeleter> ssl_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  absl::Duration timeout_;
  std::string out_;
  bool broken_ = false;
  std::string error_;
};

// A connected non-blocking TCP socket (TCP_NODELAY, keepalive), within `timeout`.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port_text = absl::StrCat(port);
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return Unavailable("connect", gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (!WaitFd(fd, POLLOUT, timeout)) {
        last = "Connection timed out";
        close(fd);
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      rc = so_error == 0 ? 0 : -1;
      errno = so_error;
    }
    if (rc != 0) {
      last = std::strerror(errno);
      close(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
  }
  return Unavailable("connect", last);
}

struct FileStamp {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  bool operator==(const FileStamp& o) const {
    return path == o.path && dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

FileStamp Stamp(const std::string& path) {
  FileStamp s{.path = path};
  struct stat st {};
  if (!path.empty() && stat(path.c_str(), &st) == 0) {
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime = st.st_mtim;
  }
  return s;
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> BuildSslCtx(const RedisTlsSettings& tls) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("redis tls: ", OpensslErrors()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis.tls_ca_file: cannot load '", tls.ca_file, "': ", OpensslErrors()));
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("redis tls: cannot load the system CAs: ", OpensslErrors()));
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis.tls_cert_file: cannot load '", tls.cert_file, "': ", OpensslErrors()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis.tls_key_file: cannot load '", tls.key_file, "': ", OpensslErrors()));
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("redis.tls_key_file: '", tls.key_file,
                                                     "' does not match redis.tls_cert_file '", tls.cert_file, "'"));
    }
  }
  return ctx;
}

absl::StatusOr<std::string> ReadPassword(const RedisAuthSettings& auth) {
  if (auth.password_file.empty()) return auth.password;
  std::ifstream in(auth.password_file, std::ios::binary);
  std::stringstream text;
  if (!in.is_open() || !(text << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("redis.password_file: cannot read '", auth.password_file, "'"));
  }
  std::string p = text.str();
  while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();  // a file usually ends in a newline
  if (p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("redis.password_file: '", auth.password_file, "' is empty"));
  }
  return p;
}

// SSL_write to a socket the server closed raises SIGPIPE; a daemon wants EPIPE instead. Set once, only when the
// process has no handler of its own.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction old {};
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

}  // namespace

class RedisConnector::TlsContext {
 public:
  explicit TlsContext(RedisTlsSettings tls) : tls_(std::move(tls)) {}
  // The SSL_CTX for a new connection: rebuilt when a file changed since it was built.
  absl::StatusOr<std::shared_ptr<SSL_CTX>> Get() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<FileStamp> now = {Stamp(tls_.ca_file), Stamp(tls_.cert_file), Stamp(tls_.key_file)};
    absl::MutexLock lock(&mu_);
    if (ctx_ != nullptr && now == stamps_) return ctx_;
    absl::StatusOr<std::shared_ptr<SSL_CTX>> built = BuildSslCtx(tls_);
    if (!built.ok()) {
      // Mid-rotation (a new certificate without its key yet): keep the last good context.
      if (ctx_ != nullptr) return ctx_;
      return absl::UnavailableError(built.status().message());
    }
    ctx_ = *std::move(built);
    stamps_ = std::move(now);
    return ctx_;
  }

 private:
  const RedisTlsSettings tls_;
  absl::Mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_ ABSL_GUARDED_BY(mu_);
  std::vector<FileStamp> stamps_ ABSL_GUARDED_BY(mu_);
};

RedisConnector::RedisConnector(std::string host, int port, RedisTlsSettings tls, RedisAuthSettings auth)
    : host_(std::move(host)), port_(port), tls_(std::move(tls)), auth_(std::move(auth)) {
  if (tls_.enabled) {
    tls_context_ = std::make_unique<TlsContext>(tls_);
    IgnoreSigpipeOnce();
  }
}

RedisConnector::~RedisConnector() = default;

absl::StatusOr<RedisConnectionPtr> RedisConnector::Connect(absl::Duration timeout) {
  RedisConnectionPtr conn;
  if (tls_.enabled) {
    absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = tls_context_->Get();
    if (!ctx.ok()) return ctx.status();
    absl::StatusOr<int> fd = ConnectTcp(host_, port_, timeout);
    if (!fd.ok()) return fd.status();
    auto tls = std::make_unique<TlsConnection>(*fd, *std::move(ctx), timeout);
    if (absl::Status s = tls->Handshake(tls_.server_name.empty() ? host_ : tls_.server_name); !s.ok()) return s;
    conn = std::move(tls);
  } else {
    RedisContextPtr c(redisConnectWithTimeout(host_.c_str(), port_, absl::ToTimeval(timeout)));
    if (c == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate context");
    if (c->err != 0) return Unavailable("connect", c->errstr);
    if (redisEnableKeepAlive(c.get()) != REDIS_OK) return Unavailable("keepalive", c->errstr);
    conn = std::make_unique<PlainConnection>(std::move(c));
  }
  if (absl::Status s = conn->SetTimeout(timeout); !s.ok()) return s;  // bounds AUTH and SCRIPT LOAD as well
  absl::StatusOr<std::string> password = ReadPassword(auth_);
  if (!password.ok()) return absl::UnavailableError(password.status().message());
  if (!password->empty()) {
    absl::StatusOr<RedisReplyPtr> r = auth_.username.empty() ? conn->Command({"AUTH", *password}, "AUTH")
                                                             : conn->Command({"AUTH", auth_.username, *password}, "AUTH");
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_ERROR) {
      // WRONGPASS / ERR AUTH <password> called without any password configured: never echoes the password.
      return absl::UnavailableError(
          absl::StrCat("redis: authentication failed (", absl::string_view((*r)->str, (*r)->len), ")"));
    }
  }
  return conn;
}

absl::Status CheckRedisSecurity(const RedisTlsSettings& tls, const RedisAuthSettings& auth) {
  if (tls.enabled) {
    if (absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = BuildSslCtx(tls); !ctx.ok()) return ctx.status();
  }
  if (!auth.password_file.empty()) {
    if (absl::StatusOr<std::string> p = ReadPassword(auth); !p.ok()) return p.status();
  }
  return absl::OkStatus();
}

}  // namespace tact::store

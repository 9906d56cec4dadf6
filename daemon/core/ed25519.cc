#include "daemon/core/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/core/sha256.h"

namespace tact {
namespace {

constexpr char kPublicBegin[] = "-----BEGIN PUBLIC KEY-----";

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

Bio MemoryBio(std::string_view data) { return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

absl::StatusOr<Ed25519PublicKey> RawPublic(EVP_PKEY* key, const std::string& source) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not an ed25519 key (make one with `openssl genpkey "
                                                           "-algorithm ed25519`)"));
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": cannot read the ed25519 public key"));
  }
  return Ed25519PublicKey{.raw = raw, .id = Ed25519KeyId(raw), .source = source};
}

absl::StatusOr<Pkey> ReadPrivate(std::string_view pem, const std::string& source) {
  Bio bio = MemoryBio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a PEM private key (-----BEGIN PRIVATE KEY-----)"));
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not an ed25519 key (make one with `openssl genpkey "
                                                           "-algorithm ed25519`)"));
  }
  return key;
}

std::string Pem(EVP_PKEY* key, bool priv) {
  Bio bio(BIO_new(BIO_s_mem()));
  const int ok = priv ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                      : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

std::string Ed25519KeyId(std::string_view raw_public_key) { return Sha256Hex(raw_public_key).substr(0, 16); }

absl::StatusOr<std::vector<Ed25519PublicKey>> ParseEd25519PublicKeys(std::string_view pem,
                                                                     const std::string& source) {
  Bio bio = MemoryBio(pem);
  std::vector<Ed25519PublicKey> keys;
  for (;;) {
    Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) break;
    absl::StatusOr<Ed25519PublicKey> k = RawPublic(key.get(), source);
    if (!k.ok()) return k.status();
    keys.push_back(*std::move(k));
  }
  // The loop ends at the end of the input or at a block it cannot read (other PEM blocks are skipped): every
  // public key block must have been read. The failed read leaves an error on this thread's OpenSSL queue, where
  // a TLS call on the same thread would find it: cleared.
  ERR_clear_error();
  size_t blocks = 0;
  for (size_t at = pem.find(kPublicBegin); at != std::string_view::npos; at = pem.find(kPublicBegin, at + 1)) {
    ++blocks;
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no PEM public key (", kPublicBegin, ") in it"));
  }
  if (keys.size() != blocks) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": public key ", keys.size() + 1, " of ", blocks, " cannot be read as PEM"));
  }
  return keys;
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKeyOf(std::string_view private_pem, const std::string& source) {
  absl::StatusOr<Pkey> key = ReadPrivate(private_pem, source);
  if (!key.ok()) return key.status();
  return RawPublic(key->get(), source);
}

absl::StatusOr<std::string> Ed25519Sign(std::string_view private_pem, const std::string& source,
                                        std::string_view message) {
  absl::StatusOr<Pkey> key = ReadPrivate(private_pem, source);
  if (!key.ok()) return key.status();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError(absl::StrCat(source, ": signing failed"));
  }
  sig.resize(len);
  return sig;
}

bool Ed25519Verify(std::string_view raw_public_key, std::string_view message, std::string_view signature) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(raw_public_key.data()),
                                       raw_public_key.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  const bool ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1;
  ERR_clear_error();  // a bad signature is an answer here, not an error for the next OpenSSL call on this thread
  return ok;
}

absl::StatusOr<Ed25519PemPair> GenerateEd25519KeyPair() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("ed25519 key generation failed");
  }
  Pkey key(raw);
  return Ed25519PemPair{.private_pem = Pem(key.get(), true), .public_pem = Pem(key.get(), false)};
}

}  // namespace tact

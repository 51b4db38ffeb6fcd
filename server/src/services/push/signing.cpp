#include "services/push/signing.hpp"

#include "common/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <memory>
#include <optional>

namespace parley::services::push {

namespace {

// A PEM key is a few kilobytes; anything far larger is not one (and BIO lengths are ints).
constexpr std::size_t max_pem_bytes = 64 * 1024;
// ES256 signatures in JOSE form: r and s, each left-padded to the P-256 field size.
constexpr int p256_bytes = 32;

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct ecdsa_sig_free {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// OpenSSL leaves the reasons for a failed parse on this thread's error queue, where a later,
// unrelated TLS call would find them; every entry point empties it on the way out.
struct clear_openssl_errors {
  clear_openssl_errors() = default;
  clear_openssl_errors(const clear_openssl_errors&) = delete;
  clear_openssl_errors& operator=(const clear_openssl_errors&) = delete;
  ~clear_openssl_errors() { ERR_clear_error(); }
};

// No passphrase: an encrypted key is refused instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

pkey_ptr load_private_key(std::string_view pem) {
  if (pem.empty() || pem.size() > max_pem_bytes) return nullptr;
  std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return pkey_ptr(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
}

bool is_ec_p256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  std::array<char, 64> group{};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1) return false;
  std::string_view name(group.data(), len);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

bool is_rsa(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1;
}

// SHA-256 signature of `data` in the algorithm's native encoding (DER for ECDSA).
std::optional<std::string> sign_sha256(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return std::nullopt;
  auto bytes = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1) return std::nullopt;
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes,
                     data.size()) != 1)
    return std::nullopt;
  sig.resize(len);
  return sig;
}

// DER ECDSA-Sig-Value {r, s} to JOSE's fixed-width r||s (RFC 7518 3.4).
std::optional<std::string> der_to_jose(std::string_view der) {
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, ecdsa_sig_free> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * p256_bytes, '\0');
  auto buf = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, buf, p256_bytes) != p256_bytes ||
      BN_bn2binpad(s, buf + p256_bytes, p256_bytes) != p256_bytes)
    return std::nullopt;
  return out;
}

std::string signing_input(const boost::json::object& header, const boost::json::object& claims) {
  return crypto::base64url(boost::json::serialize(header)) + "." +
         crypto::base64url(boost::json::serialize(claims));
}

failure bad_key(std::string what, const std::string& field) {
  return fail(errc::invalid_request, std::move(what), field);
}

}  // namespace

std::string parley_signature(std::string_view secret, std::int64_t t_s, std::string_view body) {
  auto t = std::to_string(t_s);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text.append(t).append(".").append(body);
  return "t=" + t + ",v1=" + crypto::hex(crypto::hmac_sha256(secret, signed_text));
}

result<std::string> apns_provider_jwt(std::string_view p8_pem, std::string_view key_id,
                                      std::string_view team_id, std::int64_t iat_s) {
  clear_openssl_errors guard;
  auto key = load_private_key(p8_pem);
  if (!key || !is_ec_p256(key.get()))
    return bad_key("the APNs key is not an EC P-256 private key", "push.apns.private_key");

  boost::json::object header{{"alg", "ES256"}, {"kid", key_id}};
  boost::json::object claims{{"iss", team_id}, {"iat", iat_s}};
  auto input = signing_input(header, claims);
  auto der = sign_sha256(key.get(), input);
  auto jose = der ? der_to_jose(*der) : std::nullopt;
  if (!jose) return fail(errc::internal, "signing the APNs provider token failed");
  return input + "." + crypto::base64url(*jose);
}

result<std::string> google_oauth_assertion(std::string_view rsa_pem,
                                           std::string_view private_key_id,
                                           std::string_view client_email, std::string_view scope,
                                           std::string_view audience, std::int64_t iat_s) {
  clear_openssl_errors guard;
  auto key = load_private_key(rsa_pem);
  if (!key || !is_rsa(key.get()))
    return bad_key("the service account key is not an RSA private key",
                   "push.fcm.service_account.private_key");

  boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", private_key_id}};
  // Google accepts assertions of at most an hour.
  boost::json::object claims{{"iss", client_email},
                             {"scope", scope},
                             {"aud", audience},
                             {"iat", iat_s},
                             {"exp", iat_s + 3600}};
  auto input = signing_input(header, claims);
  auto sig = sign_sha256(key.get(), input);  // RSASSA-PKCS1-v1_5, the default for RSA keys
  if (!sig) return fail(errc::internal, "signing the OAuth assertion failed");
  return input + "." + crypto::base64url(*sig);
}

result<void> check_ec_p256_key(std::string_view pem, const std::string& field) {
  clear_openssl_errors guard;
  auto key = load_private_key(pem);
  if (!key) return bad_key("not a PEM private key (PKCS#8 .p8 file expected)", field);
  if (!is_ec_p256(key.get())) return bad_key("not an EC P-256 private key", field);
  return {};
}

result<void> check_rsa_key(std::string_view pem, const std::string& field) {
  clear_openssl_errors guard;
  auto key = load_private_key(pem);
  if (!key) return bad_key("not a PEM private key", field);
  if (!is_rsa(key.get())) return bad_key("not an RSA private key", field);
  return {};
}

std::string key_fingerprint(std::string_view pem) {
  clear_openssl_errors guard;
  auto key = load_private_key(pem);
  if (!key) return {};
  // The SubjectPublicKeyInfo DER: the same for every encoding of the private key.
  int len = i2d_PUBKEY(key.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(key.get(), &p) != len) return {};
  return crypto::sha256_hex(der).substr(0, 16);
}

}  // namespace parley::services::push

#include "services/push/signing.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

namespace parley::services::push {
namespace {

using namespace parley::push_test;

TEST(signing, apns_jwt_verifies_with_the_public_key) {
  auto key = make_ec_key();
  auto jwt = apns_provider_jwt(pkcs8_pem(key.get()), "KEY123", "TEAM456", 1'700'000'000);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  EXPECT_TRUE(verify_es256(*jwt, key.get()));
  // The signature is JOSE r||s, not DER.
  EXPECT_EQ(split_jwt(*jwt).signature.size(), 64u);
}

TEST(signing, apns_jwt_does_not_verify_with_another_key) {
  auto key = make_ec_key();
  auto other = make_ec_key();
  auto jwt = apns_provider_jwt(pkcs8_pem(key.get()), "K", "T", 1'700'000'000);
  ASSERT_TRUE(jwt.has_value());
  EXPECT_FALSE(verify_es256(*jwt, other.get()));
}

TEST(signing, apns_jwt_holds_exactly_alg_kid_iss_iat) {
  auto key = make_ec_key();
  auto jwt = apns_provider_jwt(pkcs8_pem(key.get()), "KEY123", "TEAM456", 1'700'000'000);
  ASSERT_TRUE(jwt.has_value());
  auto parts = split_jwt(*jwt);
  EXPECT_EQ(parts.header, (boost::json::object{{"alg", "ES256"}, {"kid", "KEY123"}}));
  EXPECT_EQ(parts.claims, (boost::json::object{{"iss", "TEAM456"}, {"iat", 1'700'000'000}}));
}

TEST(signing, apns_jwt_accepts_a_sec1_ec_key) {
  auto key = make_ec_key();
  auto jwt = apns_provider_jwt(traditional_pem(key.get()), "K", "T", 1);
  ASSERT_TRUE(jwt.has_value());
  EXPECT_TRUE(verify_es256(*jwt, key.get()));
}

TEST(signing, apns_jwt_refuses_rsa_p384_and_garbage_keys) {
  auto p384 = make_ec_key("P-384");
  for (const std::string& pem : {pkcs8_pem(shared_rsa_key()), pkcs8_pem(p384.get()),
                                 std::string("not a key"), std::string()}) {
    auto jwt = apns_provider_jwt(pem, "K", "T", 1);
    ASSERT_FALSE(jwt.has_value());
    EXPECT_EQ(jwt.error().code, errc::invalid_request);
    EXPECT_EQ(jwt.error().field, "push.apns.private_key");
  }
}

TEST(signing, google_assertion_verifies_and_holds_the_claims) {
  for (const auto& pem : {pkcs8_pem(shared_rsa_key()), traditional_pem(shared_rsa_key())}) {
    auto jwt = google_oauth_assertion(pem, "kid-1", "sa@proj.iam.gserviceaccount.com",
                                      "https://scope", "https://oauth.example/token", 1'000);
    ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
    EXPECT_TRUE(verify_rs256(*jwt, shared_rsa_key()));
    auto parts = split_jwt(*jwt);
    EXPECT_EQ(parts.header,
              (boost::json::object{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
    EXPECT_EQ(parts.claims, (boost::json::object{{"iss", "sa@proj.iam.gserviceaccount.com"},
                                                 {"scope", "https://scope"},
                                                 {"aud", "https://oauth.example/token"},
                                                 {"iat", 1'000},
                                                 {"exp", 4'600}}));
  }
}

TEST(signing, google_assertion_refuses_an_ec_key) {
  auto key = make_ec_key();
  auto jwt = google_oauth_assertion(pkcs8_pem(key.get()), "k", "e", "s", "a", 1);
  ASSERT_FALSE(jwt.has_value());
  EXPECT_EQ(jwt.error().code, errc::invalid_request);
  EXPECT_EQ(jwt.error().field, "push.fcm.service_account.private_key");
}

TEST(signing, check_ec_p256_key_accepts_only_p256_private_keys) {
  auto key = make_ec_key();
  EXPECT_TRUE(check_ec_p256_key(pkcs8_pem(key.get()), "push.apns.private_key").has_value());
  EXPECT_TRUE(check_ec_p256_key(traditional_pem(key.get()), "push.apns.private_key").has_value());

  auto p384 = make_ec_key("P-384");
  for (const std::string& pem :
       {pkcs8_pem(p384.get()), pkcs8_pem(shared_rsa_key()), public_pem(key.get()),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        std::string("garbage"), std::string()}) {
    auto r = check_ec_p256_key(pem, "push.apns.private_key");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, "push.apns.private_key");
  }
}

TEST(signing, check_rsa_key_accepts_pkcs8_and_pkcs1_and_refuses_the_rest) {
  EXPECT_TRUE(check_rsa_key(pkcs8_pem(shared_rsa_key()), "f").has_value());
  EXPECT_TRUE(check_rsa_key(traditional_pem(shared_rsa_key()), "f").has_value());
  auto ec = make_ec_key();
  for (const std::string& pem :
       {pkcs8_pem(ec.get()), public_pem(shared_rsa_key()), std::string("garbage")}) {
    auto r = check_rsa_key(pem, "push.fcm.service_account.private_key");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, "push.fcm.service_account.private_key");
  }
}

TEST(signing, encrypted_key_is_refused_without_asking_for_a_passphrase) {
  auto key = make_ec_key();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  const char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_128_cbc(), pass,
                                static_cast<int>(sizeof pass - 1), nullptr, nullptr);
  auto r = check_ec_p256_key(bio_text(bio.get()), "push.apns.private_key");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "push.apns.private_key");
}

TEST(signing, failures_leave_no_openssl_errors_behind) {
  ERR_clear_error();
  EXPECT_FALSE(check_rsa_key("garbage", "f").has_value());
  EXPECT_FALSE(
      apns_provider_jwt("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n", "k", "t", 1)
          .has_value());
  EXPECT_EQ(key_fingerprint("garbage"), "");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(signing, fingerprint_is_sha256_of_the_public_key_der) {
  auto key = make_ec_key();
  auto fp = key_fingerprint(pkcs8_pem(key.get()));
  EXPECT_EQ(fp, crypto::sha256_hex(spki_der(key.get())).substr(0, 16));
  EXPECT_EQ(fp.size(), 16u);
  // The same key in another encoding has the same fingerprint; another key has another.
  EXPECT_EQ(key_fingerprint(traditional_pem(key.get())), fp);
  auto other = make_ec_key();
  EXPECT_NE(key_fingerprint(pkcs8_pem(other.get())), fp);
  EXPECT_EQ(key_fingerprint(pkcs8_pem(shared_rsa_key())),
            crypto::sha256_hex(spki_der(shared_rsa_key())).substr(0, 16));
}

TEST(signing, fingerprint_is_empty_for_what_is_not_a_private_key) {
  auto key = make_ec_key();
  EXPECT_EQ(key_fingerprint(public_pem(key.get())), "");
  EXPECT_EQ(key_fingerprint("garbage"), "");
  EXPECT_EQ(key_fingerprint(""), "");
}

}  // namespace
}  // namespace parley::services::push

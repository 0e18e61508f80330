package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How pgveil uses TLS towards the upstream PostgreSQL; the names and meanings follow libpq's sslmode. */
public enum UpstreamTlsMode {
    /** Never use TLS. */
    @JsonProperty("disable") DISABLE,
    /** Use TLS when the server offers it, without verifying its certificate. */
    @JsonProperty("prefer") PREFER,
    /** Require TLS, without verifying the server's certificate. */
    @JsonProperty("require") REQUIRE,
    /** Require TLS and a certificate signed by a trusted authority. */
    @JsonProperty("verify-ca") VERIFY_CA,
    /** Require TLS, a trusted certificate, and a host name that matches it. */
    @JsonProperty("verify-full") VERIFY_FULL;

    public boolean requiresTls() {
        return this != DISABLE && this != PREFER;
    }

    public boolean verifiesCertificate() {
        return this == VERIFY_CA || this == VERIFY_FULL;
    }
}

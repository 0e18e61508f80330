package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgveil.config.ClientTlsConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/** TLS on both sides: clients to pgveil (SSLRequest and direct), and pgveil to the upstream (libpq's sslmode). */
class TlsTest {
    private static final TestCerts CERTS = TestPostgres.get().certs();

    private static PgveilConfig withClientTls(PgveilConfig c, boolean required) {
        return c.withTls(new ClientTlsConfig(CERTS.serverCert, CERTS.serverKey, required));
    }

    private static Properties props(String... kv) {
        return Pgveil.properties(kv);
    }

    @Test
    void aClientVerifiesPgveilsCertificateAndTalksOverTls() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, false));
             Connection c = pgveil.connect(props("sslmode", "verify-full", "sslrootcert", CERTS.caCert.toString()));
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
            assertTrue(rs.next());
        }
    }

    @Test
    void scramChannelBindingToPgveilsCertificateWorks() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, false));
             Connection c = pgveil.connect(props("sslmode", "require", "channelBinding", "require"));
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
            assertTrue(rs.next(), "SCRAM-SHA-256-PLUS with tls-server-end-point succeeded");
        }
    }

    @Test
    void withoutTlsConfiguredPgveilDeclinesTls() {
        try (Pgveil pgveil = Pgveil.start()) {
            SQLException e = assertThrows(SQLException.class, () -> pgveil.connect(props("sslmode", "require")));
            assertTrue(e.getMessage().contains("does not support SSL"), e.getMessage());
        }
    }

    @Test
    void whenTlsIsRequiredAPlaintextClientIsRefused() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, true))) {
            SQLException e = assertThrows(SQLException.class, () -> pgveil.connect(props("sslmode", "disable")));
            assertEquals("28000", e.getSQLState(), e.getMessage());
            try (Connection c = pgveil.connect(props("sslmode", "require"))) {
                assertTrue(c.isValid(5));
            }
        }
    }

    @Test
    void directTlsWithAlpnIsAccepted() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, false));
             Connection c = pgveil.connect(props("sslmode", "require", "sslNegotiation", "direct"))) {
            assertTrue(c.isValid(5));
        }
    }

    @Test
    void directTlsWithoutAlpnIsRefused() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, false))) {
            SSLSocket socket = (SSLSocket) trustingOurCa().getSocketFactory().createSocket("127.0.0.1", pgveil.port());
            SSLParameters params = socket.getSSLParameters();
            params.setApplicationProtocols(new String[0]);
            socket.setSSLParameters(params);
            socket.startHandshake();
            try (WireClient client = new WireClient(socket)) {
                client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
                WireClient.Message m = client.read();
                assertEquals('E', m.type());
                assertEquals("08P01", m.field('C'));
                assertTrue(client.closedByServer());
            }
        }
    }

    @Test
    void bytesSentTogetherWithAnSslRequestCloseTheConnection() throws Exception {
        // CVE-2021-23214: data that arrives with the SSLRequest must not be read as if it had come over TLS.
        try (Pgveil pgveil = Pgveil.start(c -> withClientTls(c, false)); WireClient client = new WireClient(pgveil.port())) {
            client.send(WireClient.concat(WireClient.sslRequest(),
                    WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE))));
            WireClient.Message m = client.read();
            assertEquals('E', m.type(), "no 'S': the TLS handshake must not start");
            assertEquals("08P01", m.field('C'));
            assertTrue(m.field('M').contains("unencrypted data after SSL request"), m.field('M'));
            assertTrue(client.closedByServer());
        }
    }

    private static SSLContext trustingOurCa() throws Exception {
        X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(java.nio.file.Files.newInputStream(CERTS.caCert));
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    // ---------------------------------------------------------------- upstream side

    private static PgveilConfig upstream(PgveilConfig c, UpstreamTlsMode mode, Path rootCert, String host, String user, String password) {
        UpstreamConfig u = c.upstream();
        return c.withUpstream(new UpstreamConfig(host, u.port(), user, io.pgveil.config.Secret.of(password), mode, rootCert,
                u.connectTimeout()));
    }

    private static boolean upstreamUsesTls(Pgveil pgveil) throws SQLException {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select ssl from pg_stat_ssl where pid = pg_backend_pid()")) {
            assertTrue(rs.next());
            return rs.getBoolean(1);
        }
    }

    private static void requireEmbedded() {
        assumeTrue(TestPostgres.get().embedded(),
                "needs the embedded server: these tests configure its TLS certificate and pg_hba.conf");
    }

    @Test
    void upstreamTlsModesBehaveLikeLibpqSslmode() throws Exception {
        requireEmbedded();
        String pw = TestPostgres.LOGIN_PASSWORD;
        try (Pgveil p = Pgveil.start(c -> upstream(c, UpstreamTlsMode.DISABLE, null, "127.0.0.1", TestPostgres.LOGIN, pw))) {
            assertFalse(upstreamUsesTls(p), "disable");
        }
        for (UpstreamTlsMode mode : new UpstreamTlsMode[] {UpstreamTlsMode.PREFER, UpstreamTlsMode.REQUIRE}) {
            try (Pgveil p = Pgveil.start(c -> upstream(c, mode, null, "127.0.0.1", TestPostgres.LOGIN, pw))) {
                assertTrue(upstreamUsesTls(p), mode.name());
            }
        }
        for (UpstreamTlsMode mode : new UpstreamTlsMode[] {UpstreamTlsMode.VERIFY_CA, UpstreamTlsMode.VERIFY_FULL}) {
            try (Pgveil p = Pgveil.start(c -> upstream(c, mode, CERTS.caCert, "127.0.0.1", TestPostgres.LOGIN, pw))) {
                assertTrue(upstreamUsesTls(p), mode.name());
            }
        }
    }

    @Test
    void verifyFullRefusesAServerWhoseCertificateNamesAnotherHost() throws Exception {
        requireEmbedded();
        try (Pgveil p = Pgveil.start(c -> upstream(c, UpstreamTlsMode.VERIFY_FULL, CERTS.caCert, "localhost",
                TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("TLS handshake with upstream PostgreSQL at localhost:"), e.getMessage());
        }
    }

    @Test
    void verifyCaRefusesACertificateFromAnotherAuthority() throws Exception {
        requireEmbedded();
        try (Pgveil p = Pgveil.start(c -> upstream(c, UpstreamTlsMode.VERIFY_CA, CERTS.otherCaCert, "127.0.0.1",
                TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("TLS handshake"), e.getMessage());
        }
    }

    @Test
    void aRoleTheServerAcceptsOnlyOverTlsIsRefusedWithTlsDisabled() throws Exception {
        requireEmbedded();
        String user = TestPostgres.TLS_ONLY_LOGIN;
        String pw = TestPostgres.OTHER_PASSWORD;
        try (Pgveil p = Pgveil.start(c -> upstream(c, UpstreamTlsMode.DISABLE, null, "127.0.0.1", user, pw))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("refused pgveil's login as \"" + user + "\""), e.getMessage());
        }
        try (Pgveil p = Pgveil.start(c -> upstream(c, UpstreamTlsMode.REQUIRE, null, "127.0.0.1", user, pw))) {
            assertTrue(upstreamUsesTls(p));
        }
    }
}

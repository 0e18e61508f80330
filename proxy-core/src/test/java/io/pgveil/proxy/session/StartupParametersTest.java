package io.pgveil.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgveil.proxy.pgwire.SqlState;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StartupParametersTest {
    private static Map<String, String> params(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void pgjdbcsUsualParametersAreForwardedWithoutTheUser() {
        StartupParameters.Result r = StartupParameters.filter(params("user", "alice", "database", "shop",
                "client_encoding", "UTF8", "DateStyle", "ISO", "TimeZone", "UTC", "extra_float_digits", "3",
                "application_name", "PostgreSQL JDBC Driver"), "alice");
        assertNull(r.refusal());
        assertEquals(params("database", "shop", "client_encoding", "UTF8", "DateStyle", "ISO", "TimeZone", "UTC",
                "extra_float_digits", "3", "application_name", "PostgreSQL JDBC Driver"), r.upstream());
    }

    @Test
    void theDatabaseDefaultsToTheClientsUserNameAsInPostgres() {
        assertEquals("alice", StartupParameters.filter(params("user", "alice"), "alice").upstream().get("database"));
    }

    @Test
    void settingsThatChooseAnIdentityAreRefused() {
        for (String name : List.of("role", "ROLE", "session_authorization", "pgveil.subject", "some_unknown_guc")) {
            StartupParameters.Result r = StartupParameters.filter(params("user", "alice", name, "postgres"), "alice");
            assertNotNull(r.refusal(), name);
            assertEquals(SqlState.INSUFFICIENT_PRIVILEGE, r.refusal().sqlState(), name);
        }
        assertNotNull(StartupParameters.filter(params("user", "a", "options", "-c role=postgres"), "a").refusal());
        assertNotNull(StartupParameters.filter(params("user", "a", "replication", "database"), "a").refusal());
    }

    @Test
    void anEmptyOptionsParameterAndReplicationOffAreHarmless() {
        assertNull(StartupParameters.filter(params("user", "a", "options", " ", "replication", "false"), "a").refusal());
    }

    @Test
    void protocolOptionsAreDeclinedNotForwarded() {
        StartupParameters.Result r = StartupParameters.filter(params("user", "a", "_pq_.x", "1"), "a");
        assertEquals(List.of("_pq_.x"), r.declinedOptions());
        assertNull(r.upstream().get("_pq_.x"));
    }
}

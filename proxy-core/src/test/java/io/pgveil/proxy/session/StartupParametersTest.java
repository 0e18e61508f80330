package io.pgveil.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgveil.proxy.pgwire.PgError;
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
        for (String name : List.of("role", "ROLE", "session_authorization", "pgveil.subject", "session_replication_role",
                "log_statement", "pgaudit.log")) {
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

    @Test
    void anySettingThatDoesNotTouchIdentityGoesToTheServerWhichAnswersForIt() {
        StartupParameters.Result r = StartupParameters.filter(params("user", "a", "search_path", "app",
                "myapp.tenant", "42", "some_unknown_guc", "x"), "a");
        assertNull(r.refusal());
        assertEquals(params("database", "a", "search_path", "app", "myapp.tenant", "42", "some_unknown_guc", "x"), r.upstream());
    }

    @Test
    void optionsAreReadAsPostgresReadsThem() {
        assertEquals(List.of("-c", "search_path=app", "--application_name=my app", "a\\b"),
                StartupParameters.split("  -c search_path=app   --application_name=my\\ app a\\\\b "));
        StartupParameters.Result r = StartupParameters.filter(params("user", "a", "options",
                "-c search_path=app,public -cstatement_timeout=5s --lock-timeout=1s --application_name=my\\ app"), "a");
        assertNull(r.refusal());
        assertEquals(params("database", "a", "search_path", "app,public", "statement_timeout", "5s", "lock_timeout", "1s",
                "application_name", "my app"), r.upstream());
    }

    @Test
    void theStartupPacketsOwnSettingsWinOverOptions() {
        StartupParameters.Result r = StartupParameters.filter(params("user", "a", "options", "-c search_path=one",
                "search_path", "two"), "a");
        assertEquals("two", r.upstream().get("search_path"));
    }

    @Test
    void optionsThatChangeIdentityOrAreMalformedAreRefusedAsPostgresWouldWord() {
        for (String o : List.of("-c role=postgres", "--role=postgres", "-c session_authorization=postgres",
                "-c pgveil.subject=bob", "--pgveil.groups={admins}", "-c\\ role=x")) {
            PgError e = StartupParameters.filter(params("user", "a", "options", o), "a").refusal();
            assertNotNull(e, o);
            assertEquals(SqlState.INSUFFICIENT_PRIVILEGE, e.sqlState(), o);
        }
        assertEquals("-c search_path requires a value", StartupParameters.filter(params("user", "a", "options",
                "-c search_path"), "a").refusal().message());
        assertEquals("--work_mem requires a value", StartupParameters.filter(params("user", "a", "options",
                "--work_mem"), "a").refusal().message());
        assertEquals(SqlState.INSUFFICIENT_PRIVILEGE, StartupParameters.filter(params("user", "a", "options", "-O"), "a")
                .refusal().sqlState(), "other server switches are not for clients");
    }
}

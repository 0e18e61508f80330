package io.pgveil.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdentityGuardTest {
    private static String check(String sql) {
        ByteBuf buf = Unpooled.copiedBuffer(sql, StandardCharsets.UTF_8);
        return IdentityGuard.check(buf, 0, buf.writerIndex(), true);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SET ROLE postgres", "set role none", "SET SESSION ROLE x", "SET LOCAL ROLE x", "reset role",
        "SET SESSION AUTHORIZATION postgres", "set local session authorization default", "RESET SESSION AUTHORIZATION",
        "select 1; RESET ALL", "DISCARD ALL; select 1", "SET \"role\" = x", "SET U&\"\\0072ole\" = x", "SET U&\"!0072ole\" UESCAPE '!' = x",
        "set session_authorization = 'x'", "SET pgveil.subject = 'x'", "set \"pgveil.groups\" to '{}'",
        "reset pgveil.subject", "SET Pgveil . Subject TO 'x'",
        "select set_config('role', 'x', false)", "SELECT pg_catalog.set_config('pgveil.subject', 'x', true)",
        "select set_config(E'ro\\x6ce', 'x', false)", "select set_config(name, 'x', false) from t",
        "select 1; set role x", "/* c */ -- c\n SET /* c */ ROLE x",
        "DO $$BEGIN EXECUTE 'SET ROLE x'; END$$", "do $f$ begin perform set_config('pgveil.subject','y',false); end $f$",
        "set role 'unterminated",
        // A string that reads as an identity change is refused too: it could be run as dynamic SQL.
        "select 'set role x is just text'",
    })
    void identityChangesAreRefused(String sql) {
        assertNotNull(check(sql), sql);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1", "SET search_path = public", "set statement_timeout to 5000",
        "select set_config('search_path', 'public', false)", "select role_name from roles", "RESET search_path",
        "select 'unterminated", "create role x", "alter role x set work_mem = '1MB'",
        "select * from t where authorization_code = 1", "DISCARD PLANS",
    })
    void everythingElsePasses(String sql) {
        assertNull(check(sql), sql);
    }

    @ParameterizedTest
    @ValueSource(strings = {"RESET ALL", "reset all;", "DISCARD ALL", "/* pool */ discard all"})
    void aSessionResetOnItsOwnIsAllowedAndReported(String sql) {
        IdentityGuard.Finding f = IdentityGuard.inspect(sql, true, false);
        assertNull(f.refusal(), sql);
        assertTrue(f.resetsSession(), sql);
    }

    @Test
    void aSessionResetInsideAStringIsRefused() {
        assertNotNull(check("DO $$ BEGIN EXECUTE 'RESET ALL'; END $$"));
    }

    @Test
    void aSettingNameFromAParameterIsLeftToBindInAParseOnly() {
        assertEquals(2, IdentityGuard.inspect("select set_config($2::text, $1, false)", true, true).settingParameter());
        assertNull(IdentityGuard.inspect("select set_config($1, $2, false)", true, true).refusal());
        assertNotNull(IdentityGuard.inspect("select set_config($1, $2, false)", true, false).refusal(), "a Query has no parameters");
        assertNotNull(IdentityGuard.inspect("select set_config($1 || 'x', $2, false)", true, true).refusal());
        assertNotNull(IdentityGuard.inspect("select set_config($1, 'a', false), set_config($2, 'b', false)", true, true).refusal());
    }
}

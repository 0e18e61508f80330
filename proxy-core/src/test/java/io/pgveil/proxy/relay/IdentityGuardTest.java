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
        // statements are checked one at a time: a reason in the last one, in a string, is found
        "insert into t values (1, 'a'); insert into t values (2, 'b'); select 'set role x is text'",
        "DO $$BEGIN EXECUTE 'SET ROLE x'; END$$", "do $f$ begin perform set_config('pgveil.subject','y',false); end $f$",
        "set role 'unterminated",
        // A string that reads as an identity change is refused too: it could be run as dynamic SQL.
        "select 'set role x is just text'",
        // strings continued on the next line are one string ('SET RO'<newline>'LE x' is 'SET ROLE x')
        "DO 'BEGIN EXECUTE ''SET RO'\n'LE x''; END'", "select set_config('ro' -- name\n  'le', 'x', false)",
        // a setting name that is not one constant standing alone
        "select set_config('r' || 'ole', 'x', false)", "DO $$ BEGIN PERFORM set_config('ro' || 'le', 'x', false); END $$",
        "select set_config(('role'), 'x', false)",
        // code that builds the SQL it runs, which no text shows
        "DO $$ BEGIN EXECUTE 'SET R' || 'OLE x'; END $$", "DO $$ BEGIN EXECUTE format('SET %s x', 'ro' || 'le'); END $$",
        "DO $$ BEGIN EXECUTE 'SET ' || chr(114) || 'ole x'; END $$",
        "do $$ declare q text := 'SET R' || 'OLE x'; begin execute q; end $$",
        "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SET R' || 'OLE x'; END $$",
        "CREATE PROCEDURE p() AS $$ BEGIN EXECUTE upper('set r') || 'ole x'; END $$ LANGUAGE plpgsql",
        "DO $$ BEGIN RETURN QUERY EXECUTE 'SET R' || 'OLE x'; END $$",
        "DO LANGUAGE plperl $$ spi_exec_query('SET R' . 'OLE x') $$",
        "SELECT 1; DO $x$ BEGIN EXECUTE 'DO $y$ BEGIN EXECUTE ''SET R'' || ''OLE x''; END $y$'; END $x$",
        // built-in functions that run SQL given as text, given SQL that is not one constant
        "select query_to_xml(concat('SELECT set_', 'config(''ro', 'le'', ''x'', false)'), true, true, '')",
        "SELECT * FROM ts_stat('SELECT ' || 'v FROM t')", "select ts_rewrite('a'::tsquery, 'SELECT ' || x) from t",
        // a function that runs as another role, or with another pgveil identity
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql SET role = analyst AS 'SELECT 1'",
        "create or replace function f() returns text language sql set \"pgveil.subject\" to 'x' as 'select 1'",
        "ALTER FUNCTION f() SET role TO analyst", "alter routine f() set pgveil.groups = '{}'",
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
        "select set_config('search_path'::text, 'public', false)", "select 'a'\n'b'", "select 'line one'\n, 'two'",
        "DO $$ BEGIN EXECUTE 'UPDATE t SET a = 1'; EXECUTE 'ANALYZE t' INTO x USING 1; END $$",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "select 'please execute the order'",
        "DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; END $$",
        "select query_to_xml('SELECT 1', true, true, '')", "SELECT * FROM ts_stat('SELECT v FROM t')",
        "select ts_rewrite(q, 'a'::tsquery, 'b'::tsquery) from t", "select ts_rewrite('a'::tsquery, 'SELECT x, y FROM aliases')",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = public AS 'SELECT 1'",
        "ALTER FUNCTION f() SET work_mem = '1MB'", "UPDATE users SET role = 'admin' WHERE id = 1",
        // data that only begins like a session reset: RESET and DISCARD take one setting and nothing after it
        "INSERT INTO labels (key, text) VALUES ('filters.clear', 'Reset all filters'), ('x', 'reset all 0')",
        "select 'Discard all changes?'", "select 'reset role models'", "reset all extra",
        // a string that begins with an identity change but does not lex as a whole is no SQL PostgreSQL would run
        "select 'SET ROLE x; don''t'",
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
    void aLongListIsCheckedInFullOnlyWhenItHoldsAWordThatCouldMatter() {
        // 20,000 rows into a table with a column named role: the rows are lexed only if one of them could matter
        StringBuilder rows = new StringBuilder("INSERT INTO users (id, role, note) VALUES ");
        for (int i = 0; i < 20_000; i++) {
            rows.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'reader', 'note ").append(i).append("')");
        }
        assertNull(check(rows.toString()));
        // rows whose text holds such words (each string is checked as SQL, and reads as none)
        assertNull(check(rows.toString().replace("'note ", "'the reader role, reset all filters, language ")));
        assertNotNull(check(rows + ", (20000, 'reader', 'SET ROLE postgres')"));
        assertNotNull(check(rows + ", (20000, 'reader', 'RESET ALL')"));
        assertNotNull(check(rows.toString().replace("'note 777'", "'DO $$ BEGIN EXECUTE ''SET R'' || ''OLE x''; END $$'")));
        assertNotNull(check(rows.toString().replace("'note 777'", "'a'\n'b'), (1, 'x', 'SET RO'\n'LE x'")));
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

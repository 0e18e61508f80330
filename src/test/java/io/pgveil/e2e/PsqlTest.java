package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.ClientTlsConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** psql, Debian's real binary, cannot tell pgveil from the server. */
class PsqlTest {
    private static final String SCRIPT = """
            \\set ON_ERROR_STOP 0
            \\pset null '(null)'
            drop table if exists psql_t;
            select 1 as one, 'two' as two, null as three;
            select i, repeat('ab', i) as r from generate_series(1, 25) as i;
            select 'ünïcødé ✓' as text, E'tab\\there' as escaped, 1.5::numeric(10,3), now() > '2000-01-01' as recent;
            create table psql_t (id int primary key, name text, data jsonb);
            insert into psql_t values (1, 'a', '{"k": [1, 2, 3]}'), (2, 'b', null);
            select * from psql_t order by id;
            select * from no_such_table;
            select 1/0;
            begin;
            insert into psql_t values (3, 'c', '{}');
            select * from nonexistent;
            select 1;
            commit;
            select count(*) from psql_t;
            copy psql_t from stdin;
            10\tten\t{"x": 1}
            11\televen\t\\N
            \\.
            select * from psql_t order by id;
            \\copy psql_t to stdout
            do $$ begin raise notice 'notice from the server: %', 42; end $$;
            select 7 as seven \\gset
            \\echo seven is :seven
            \\x on
            select * from psql_t where id = 10;
            \\x off
            \\d psql_t
            prepare p(int) as select $1 * 2 as doubled;
            execute p(21);
            select 1; select 2; select 3
            \\;
            select string_agg(i::text, ',') from generate_series(1, 2000) as i;
            insert into psql_t values (1, 'duplicate', null);
            drop table psql_t;
            """;

    @Test
    void aScriptPrintsExactlyTheSameThroughPgveilAsDirectly(@TempDir Path dir) throws Exception {
        Command.requireInstalled("psql");
        Path script = Files.writeString(dir.resolve("script.sql"), SCRIPT);
        TestPostgres pg = TestPostgres.get();
        String direct = "postgresql://" + TestPostgres.LOGIN + ":" + TestPostgres.LOGIN_PASSWORD + "@" + pg.host() + ":"
                + pg.port() + "/" + TestPostgres.DATABASE + "?sslmode=disable";
        Command.Result expected = psql(direct, script);
        assertEquals(0, expected.exitCode(), expected.stderr());
        assertTrue(expected.stderr().contains("ERROR:  relation \"no_such_table\" does not exist"), expected.stderr());

        try (Pgveil pgveil = Pgveil.start()) {
            Command.Result actual = psql(pgveil.libpqUrl(Pgveil.USER, Pgveil.PASSWORD), script);
            assertEquals(expected.stdout(), actual.stdout());
            assertEquals(expected.stderr(), actual.stderr());
            assertEquals(expected.exitCode(), actual.exitCode());
        }
    }

    private static Command.Result psql(String url, Path script) throws Exception {
        return Command.run(List.of("psql", "-X", "-f", script.toString(), url),
                Map.of("PGAPPNAME", "psql-test", "PGTZ", "UTC", "LC_ALL", "C.UTF-8"), null, 60);
    }

    @Test
    void libpqLogsInOverTlsWithScramChannelBinding() throws Exception {
        Command.requireInstalled("psql");
        TestCerts certs = TestPostgres.get().certs();
        try (Pgveil pgveil = Pgveil.start(c -> c.withTls(new ClientTlsConfig(certs.serverCert, certs.serverKey, false)))) {
            String url = "postgresql://" + Pgveil.USER + ":" + Pgveil.PASSWORD + "@127.0.0.1:" + pgveil.port() + "/"
                    + TestPostgres.DATABASE + "?sslmode=verify-full&sslrootcert=" + certs.caCert + "&channel_binding=require";
            Command.Result r = Command.run(List.of("psql", "-X", "-At", "-c", "select 'over tls'", url), Map.of(), null, 30);
            assertEquals(0, r.exitCode(), r.stderr());
            assertEquals("over tls\n", r.stdout());
        }
    }
}

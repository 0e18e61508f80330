package io.pgveil.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.MaskingConfig;
import io.pgveil.config.Secret;
import io.pgveil.identity.Identity;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Exemptions by group and subject; columns not configured are clear. */
class ColumnMasksTest {
    static final MaskingConfig CONFIG = new MaskingConfig(Secret.of("k"), null, Map.of(
            "public.users.ssn", MaskingConfig.Column.of("redact"),
            "public.customers.email", new MaskingConfig.Column("email", List.of("pii-readers"), List.of("auditor-7"),
                    null, null, null, null, null, null, null)));

    static Identity identity(String subject, String... groups) {
        return new Identity(Identity.Kind.TOKEN, subject, subject, null, null, List.of(groups), "https://idp", null, null,
                List.of(), null);
    }

    @Test
    void exemptionsByGroupAndSubject() {
        ColumnMasks agent = ColumnMasks.of(CONFIG, identity("agent-1", "agents"));
        assertEquals("redact", agent.masker("public", "users", "ssn").name());
        assertEquals("****@example.com", agent.masker("public", "customers", "email").mask("a@example.com"));
        assertNull(agent.masker("public", "customers", "name"), "a column not configured is clear");

        ColumnMasks analyst = ColumnMasks.of(CONFIG, identity("ana", "analysts", "pii-readers"));
        assertNull(analyst.masker("public", "customers", "email"), "exempt by group");
        assertEquals("redact", analyst.masker("public", "users", "ssn").name(), "exempt for that column only");

        assertNull(ColumnMasks.of(CONFIG, identity("auditor-7")).masker("public", "customers", "email"), "exempt by subject");
        assertSame(ColumnMasks.NONE, ColumnMasks.of(MaskingConfig.DEFAULT, identity("x")));
        assertTrue(ColumnMasks.NONE.isEmpty());
    }

    /** A catalog of three tables: users with two children (a partition and its sub-partition), and docs. */
    static final ColumnMasks.Tables TABLES = new ColumnMasks.Tables() {
        @Override
        public java.util.Set<String> textColumns(String schema, String table) {
            return table.equals("docs") ? java.util.Set.of("title", "body", "meta") : java.util.Set.of();
        }

        @Override
        public List<ColumnMasks.Table> descendants(String schema, String table) {
            return table.equals("users") ? List.of(new ColumnMasks.Table("public", "users_2024", List.of("id", "ssn")),
                    new ColumnMasks.Table("archive", "users_2024_q1", List.of("id", "ssn", "note"))) : List.of();
        }
    };

    @Test
    void aTablesMasksCoverItsPartitionsAndChildren() {
        ColumnMasks masks = ColumnMasks.of(new MaskingConfig(Secret.of("k"), null, Map.of(
                "public.users.ssn", MaskingConfig.Column.of("redact"),
                "archive.users_2024_q1.note", MaskingConfig.Column.of("hash"))), identity("agent")).over(TABLES);
        assertEquals("redact", masks.masker("public", "users", "ssn").name());
        assertEquals("redact", masks.masker("public", "users_2024", "ssn").name(), "a partition: the same values");
        assertEquals("redact", masks.masker("archive", "users_2024_q1", "ssn").name(), "at any depth, in any schema");
        assertEquals("hash", masks.masker("archive", "users_2024_q1", "note").name(), "its own configuration kept");
        assertNull(masks.masker("public", "users_2024", "id"));
    }

    @Test
    void schemaTableStarStandsForEachTextColumnOfTheTable() {
        ColumnMasks configured = ColumnMasks.of(new MaskingConfig(Secret.of("k"), null, Map.of(
                "public.docs.*", new MaskingConfig.Column("detect", null, null, null, null, null, null, null, null, null),
                "public.docs.title", MaskingConfig.Column.of("redact"))), identity("agent"));
        assertNull(configured.masker("public", "docs", "body"), "without the catalog, * names no column");
        ColumnMasks masks = configured.over(TABLES);
        assertEquals("detect", masks.masker("public", "docs", "body").name());
        assertEquals("detect", masks.masker("public", "docs", "meta").name(), "JSON columns too");
        assertEquals("redact", masks.masker("public", "docs", "title").name(), "a column named on its own wins");
        assertNull(masks.masker("public", "docs", "id"), "a column that holds no text is clear");
        assertEquals("ada ****", masks.masker("public", "docs", "body").mask("ada ada@example.com"));
    }

    @Test
    void aDerivedOutputIsRedactedNullIncluded() {
        ColumnMasks masks = ColumnMasks.of(CONFIG, identity("agent"));
        assertTrue(masks.redact().masksNull(), "CASE WHEN ssn LIKE '1%' THEN 1 END: its NULLs say something too");
        assertEquals("****", masks.redact().constant());
        assertTrue(!masks.masker("public", "users", "ssn").masksNull(), "the column itself keeps its NULLs");
    }
}

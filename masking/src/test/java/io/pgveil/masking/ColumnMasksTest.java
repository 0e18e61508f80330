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
}

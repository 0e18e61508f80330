package io.pgveil.proxy.auth;

import io.pgveil.identity.Identity;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.RoleRule;
import io.pgveil.config.Secret;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoleMapperTest {
    private static Identity token(String subject, String issuer, String... groups) {
        return new Identity(Identity.Kind.TOKEN, subject, subject, null, null, List.of(groups), issuer, null,
                Instant.now().plusSeconds(60), List.of(), "h");
    }

    private final RoleMapper mapper = new RoleMapper(List.of(
            new RoleRule(null, "agents", null, "agent_reader", null, null),
            new RoleRule("svc-*", null, "https://idp/*", "reporting", null, null),
            new RoleRule(null, "dba", null, null, new RoleRule.UpstreamLogin("dba_login", Secret.of("x")), null),
            new RoleRule("bench", null, null, null, null, true)));

    @Test
    void theFirstMatchingRuleWins() {
        RoleMapper.Target t = mapper.map(token("agent-7", "https://idp/realms/a", "agents", "dba")).orElseThrow();
        assertEquals("agent_reader", t.role());
        assertEquals("roles[0]", t.rule());
    }

    @Test
    void globsMatchSubjectAndIssuer() {
        assertEquals("reporting", mapper.map(token("svc-billing", "https://idp/realms/a")).orElseThrow().role());
        assertTrue(mapper.map(token("svc-billing", "https://other/realms/a")).isEmpty(), "issuer glob must match too");
    }

    @Test
    void aRuleCanNameOtherCredentialsOrTheLoginRole() {
        assertEquals("dba_login", mapper.map(token("x", "i", "dba")).orElseThrow().login().user());
        RoleMapper.Target asLogin = mapper.map(token("bench", "i")).orElseThrow();
        assertNull(asLogin.role());
        assertNull(asLogin.login());
    }

    @Test
    void unmatchedTokensAreRefusedButUnmatchedStaticUsersRunAsTheLoginRole() {
        assertTrue(mapper.map(token("stranger", "i", "nobody")).isEmpty());
        RoleMapper.Target breakGlass = mapper.map(Identity.staticUser("alice", List.of())).orElseThrow();
        assertNull(breakGlass.role());
    }

    @Test
    void globIsAnchoredAndLiteralOtherwise() {
        assertTrue(RoleMapper.glob("svc-*", "svc-a"));
        assertTrue(!RoleMapper.glob("svc-*", "xsvc-a"));
        assertTrue(!RoleMapper.glob("a.b", "aXb"), "a dot is a dot");
        assertTrue(RoleMapper.glob("*", "anything"));
    }
}

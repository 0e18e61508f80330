package io.pgveil.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.Secret;
import io.pgveil.config.StaticUser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** pgveil's SCRAM server and client against each other (each is also tested against real peers end to end). */
class ScramExchangeTest {
    private static final StaticUsers USERS = StaticUsers.from(List.of(new StaticUser("alice", Secret.of("correct horse"))));
    private static final byte[] CBIND = {1, 2, 3, 4, 5, 6, 7, 8};

    private static String login(String user, String password, byte[] serverCbind, byte[] clientCbind) throws ScramFailure {
        ScramServerExchange server = USERS.begin(user, serverCbind);
        ScramClientExchange client = new ScramClientExchange(password, server.mechanisms(), clientCbind);
        String serverFirst = server.serverFirst(client.mechanism(), client.clientFirst());
        String serverFinal = server.serverFinal(client.clientFinal(serverFirst));
        client.verifyServerFinal(serverFinal);
        return client.mechanism();
    }

    @Test
    void theRightPasswordLogsInAndTheServerProvesItKnowsIt() throws Exception {
        assertEquals("SCRAM-SHA-256", login("alice", "correct horse", null, null));
    }

    @Test
    void withTlsBothSidesBindToTheChannel() throws Exception {
        assertEquals("SCRAM-SHA-256-PLUS", login("alice", "correct horse", CBIND, CBIND));
    }

    @Test
    void aDifferentChannelFailsTheBinding() {
        ScramFailure e = assertThrows(ScramFailure.class,
                () -> login("alice", "correct horse", CBIND, new byte[] {9, 9, 9, 9, 9, 9, 9, 9}));
        assertTrue(e.getMessage().contains("channel binding"), e.getMessage());
    }

    @Test
    void aWrongPasswordFails() {
        assertThrows(ScramFailure.class, () -> login("alice", "battery staple", null, null));
    }

    @Test
    void anUnknownUserFailsEvenWithAnyPassword() {
        assertThrows(ScramFailure.class, () -> login("mallory", "correct horse", null, null));
    }

    @Test
    void aClientThatSaysTheServerCannotBindIsRefusedWhenItCan() throws Exception {
        // 'y' means "I could bind, but you do not offer it": over TLS we do, so this is a downgrade attack.
        ScramServerExchange server = USERS.begin("alice", CBIND);
        assertThrows(ScramFailure.class, () -> server.serverFirst("SCRAM-SHA-256", "y,,n=,r=abcdef"));
    }

    @Test
    void anAuthorizationIdentityIsRefused() {
        ScramServerExchange server = USERS.begin("alice", null);
        ScramFailure e = assertThrows(ScramFailure.class, () -> server.serverFirst("SCRAM-SHA-256", "n,a=postgres,n=,r=abc"));
        assertTrue(e.getMessage().contains("authorization identity"));
    }

    @Test
    void aTamperedServerSignatureIsDetected() throws Exception {
        ScramServerExchange server = USERS.begin("alice", null);
        ScramClientExchange client = new ScramClientExchange("correct horse", server.mechanisms(), null);
        String serverFirst = server.serverFirst(client.mechanism(), client.clientFirst());
        server.serverFinal(client.clientFinal(serverFirst));
        assertThrows(ScramFailure.class, () -> client.verifyServerFinal("v=" + java.util.Base64.getEncoder().encodeToString(new byte[32])));
    }

    @Test
    void aServerNonceThatDoesNotExtendOursIsRefused() throws Exception {
        ScramClientExchange client = new ScramClientExchange("pw", List.of("SCRAM-SHA-256"), null);
        assertThrows(ScramFailure.class, () -> client.clientFinal("r=someoneelse,s=c2FsdA==,i=4096"));
    }
}

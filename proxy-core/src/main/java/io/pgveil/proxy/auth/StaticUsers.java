package io.pgveil.proxy.auth;

import io.pgveil.config.StaticUser;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The configured static users, each kept only as SCRAM credentials (derived once, at start-up). An unknown
 * user name gets made-up but stable credentials, so a client cannot tell "no such user" from "wrong password".
 */
public final class StaticUsers {
    private final Map<String, ScramCredentials> credentials;
    private final byte[] mockKey = new byte[32];

    private StaticUsers(Map<String, ScramCredentials> credentials) {
        this.credentials = credentials;
        new SecureRandom().nextBytes(mockKey);
    }

    public static StaticUsers from(List<StaticUser> users) {
        Map<String, ScramCredentials> map = new HashMap<>();
        for (StaticUser u : users) {
            map.put(u.name(), ScramCredentials.derive(u.password().reveal()));
        }
        return new StaticUsers(map);
    }

    public boolean isEmpty() {
        return credentials.isEmpty();
    }

    /** Starts an exchange for {@code user}; {@code channelBinding} is the TLS end-point data, or null. */
    public ScramServerExchange begin(String user, byte[] channelBinding) {
        ScramCredentials c = credentials.get(user);
        if (c != null) {
            return new ScramServerExchange(c, true, channelBinding);
        }
        return new ScramServerExchange(mockCredentials(user), false, channelBinding);
    }

    private ScramCredentials mockCredentials(String user) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(mockKey, "HmacSHA256"));
            byte[] digest = mac.doFinal(user.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return new ScramCredentials(Arrays.copyOf(digest, 16), ScramCredentials.ITERATIONS, digest, digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.pgveil.proxy.auth;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import java.security.SecureRandom;

/**
 * What a SCRAM-SHA-256 server keeps of a password (RFC 5802): salt, iteration count, StoredKey and ServerKey.
 * The password itself is not needed once these are derived.
 */
public record ScramCredentials(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
    public static final int ITERATIONS = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Derives credentials from a password with a fresh random salt (PostgreSQL's password preparation). */
    public static ScramCredentials derive(String password) {
        byte[] salt = ScramFunctions.salt(16, RANDOM);
        byte[] salted = ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                StringPreparation.POSTGRESQL_PREPARATION, password.toCharArray(), salt, ITERATIONS);
        byte[] clientKey = ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, salted);
        return new ScramCredentials(salt, ITERATIONS, ScramFunctions.storedKey(ScramMechanism.SCRAM_SHA_256, clientKey),
                ScramFunctions.serverKey(ScramMechanism.SCRAM_SHA_256, salted));
    }
}

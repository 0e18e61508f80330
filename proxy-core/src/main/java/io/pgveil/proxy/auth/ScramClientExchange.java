package io.pgveil.proxy.auth;

import static io.pgveil.proxy.auth.ScramAttributes.SCRAM_SHA_256;
import static io.pgveil.proxy.auth.ScramAttributes.SCRAM_SHA_256_PLUS;
import static io.pgveil.proxy.auth.ScramAttributes.TLS_SERVER_END_POINT;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * pgveil's side, as a client, of a SCRAM-SHA-256 login to the upstream server. With TLS, and when the server
 * offers it, SCRAM-SHA-256-PLUS binds the login to the TLS channel (tls-server-end-point), as libpq does.
 *
 * <p>The salted password (4096 or more PBKDF2 rounds) depends only on the password, the salt and the iteration
 * count, which the server repeats on every login; it is computed once and cached, so a new upstream
 * connection costs a few HMACs, not a key derivation.
 */
public final class ScramClientExchange {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Map<String, byte[]> SALTED_PASSWORDS = new ConcurrentHashMap<>();

    private final String password;
    private final String mechanism;
    private final String gs2Header;
    private final byte[] channelBinding;
    private final String clientFirstBare;
    private final String clientNonce;
    private String authMessage;
    private byte[] saltedPassword;

    /**
     * @param offered        the mechanisms the server listed
     * @param channelBinding tls-server-end-point data of the server's certificate, or null without TLS
     */
    public ScramClientExchange(String password, List<String> offered, byte[] channelBinding) throws ScramFailure {
        this.password = password;
        if (channelBinding != null && offered.contains(SCRAM_SHA_256_PLUS)) {
            mechanism = SCRAM_SHA_256_PLUS;
            gs2Header = "p=" + TLS_SERVER_END_POINT + ",,";
            this.channelBinding = channelBinding;
        } else if (offered.contains(SCRAM_SHA_256)) {
            mechanism = SCRAM_SHA_256;
            gs2Header = channelBinding != null ? "y,," : "n,,";
            this.channelBinding = null;
        } else {
            throw new ScramFailure("server offers no SASL mechanism pgveil supports: " + offered);
        }
        byte[] random = new byte[18];
        RANDOM.nextBytes(random);
        clientNonce = Base64.getEncoder().encodeToString(random);
        clientFirstBare = "n=,r=" + clientNonce;
    }

    public String mechanism() {
        return mechanism;
    }

    public String clientFirst() {
        return gs2Header + clientFirstBare;
    }

    public String clientFinal(String serverFirst) throws ScramFailure {
        ScramAttributes attrs = new ScramAttributes(serverFirst);
        String nonce = attrs.require('r');
        byte[] salt = ScramAttributes.base64(attrs.require('s'));
        int iterations;
        try {
            iterations = Integer.parseInt(attrs.require('i'));
        } catch (NumberFormatException e) {
            throw new ScramFailure("malformed SCRAM message: invalid iteration count");
        }
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
            throw new ScramFailure("server's SCRAM nonce does not extend ours");
        }
        if (iterations < 1) {
            throw new ScramFailure("malformed SCRAM message: invalid iteration count");
        }
        saltedPassword = saltedPassword(salt, iterations);
        byte[] header = gs2Header.getBytes(StandardCharsets.US_ASCII);
        byte[] cbind = header;
        if (channelBinding != null) {
            cbind = new byte[header.length + channelBinding.length];
            System.arraycopy(header, 0, cbind, 0, header.length);
            System.arraycopy(channelBinding, 0, cbind, header.length, channelBinding.length);
        }
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(cbind) + ",r=" + nonce;
        authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] clientKey = ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, saltedPassword);
        byte[] storedKey = ScramFunctions.storedKey(ScramMechanism.SCRAM_SHA_256, clientKey);
        byte[] signature = ScramFunctions.clientSignature(ScramMechanism.SCRAM_SHA_256, storedKey, authMessage);
        byte[] proof = ScramFunctions.clientProof(clientKey, signature);
        return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    /** Checks the server's signature: a server that does not know the password cannot produce it. */
    public void verifyServerFinal(String serverFinal) throws ScramFailure {
        if (authMessage == null) {
            throw new ScramFailure("SCRAM final message before the first one");
        }
        if (serverFinal.startsWith("e=")) {
            throw new ScramFailure("server rejected the SCRAM exchange: " + serverFinal.substring(2));
        }
        byte[] verifier = ScramAttributes.base64(new ScramAttributes(serverFinal).require('v'));
        byte[] serverKey = ScramFunctions.serverKey(ScramMechanism.SCRAM_SHA_256, saltedPassword);
        byte[] expected = ScramFunctions.serverSignature(ScramMechanism.SCRAM_SHA_256, serverKey, authMessage);
        if (!MessageDigest.isEqual(expected, verifier)) {
            throw new ScramFailure("invalid server signature: the server does not know pgveil's password");
        }
    }

    private byte[] saltedPassword(byte[] salt, int iterations) {
        String key = fingerprint(salt, iterations);
        return SALTED_PASSWORDS.computeIfAbsent(key, k -> ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                StringPreparation.POSTGRESQL_PREPARATION, password.toCharArray(), salt, iterations));
    }

    /** Identifies (password, salt, iterations) without keeping the password as a map key. */
    private String fingerprint(byte[] salt, int iterations) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(password.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(salt);
            return Base64.getEncoder().encodeToString(sha.digest()) + ":" + iterations;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.pgveil.proxy.auth;

import static io.pgveil.proxy.auth.ScramAttributes.SCRAM_SHA_256;
import static io.pgveil.proxy.auth.ScramAttributes.SCRAM_SHA_256_PLUS;
import static io.pgveil.proxy.auth.ScramAttributes.TLS_SERVER_END_POINT;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;

/**
 * pgveil's side of one SCRAM-SHA-256 (or -PLUS, with tls-server-end-point channel binding) exchange with a
 * client, as PostgreSQL runs it: the user name comes from the startup packet, the one in the SCRAM message is
 * ignored, and an authorization identity is refused.
 *
 * <pre>
 *   client-first  →  serverFirst()  →  server-first
 *   client-final  →  serverFinal()  →  server-final (or ScramFailure: wrong password)
 * </pre>
 */
public final class ScramServerExchange {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ScramCredentials credentials;
    private final boolean credentialsAreReal;
    private final byte[] channelBinding;

    private String gs2Header;
    private boolean usesChannelBinding;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;

    /**
     * @param credentials        the user's credentials, or made-up ones for an unknown user (the exchange then
     *                           runs to the end and fails, so unknown and known users look alike)
     * @param credentialsAreReal false for made-up credentials
     * @param channelBinding     tls-server-end-point data of the client connection, or null without TLS
     */
    public ScramServerExchange(ScramCredentials credentials, boolean credentialsAreReal, byte[] channelBinding) {
        this.credentials = credentials;
        this.credentialsAreReal = credentialsAreReal;
        this.channelBinding = channelBinding;
    }

    public List<String> mechanisms() {
        return channelBinding != null ? List.of(SCRAM_SHA_256_PLUS, SCRAM_SHA_256) : List.of(SCRAM_SHA_256);
    }

    public String serverFirst(String mechanism, String clientFirst) throws ScramFailure {
        if (!mechanisms().contains(mechanism)) {
            throw new ScramFailure("client selected an invalid SASL authentication mechanism");
        }
        int firstComma = clientFirst.indexOf(',');
        int secondComma = firstComma < 0 ? -1 : clientFirst.indexOf(',', firstComma + 1);
        if (secondComma < 0) {
            throw new ScramFailure("malformed SCRAM message: missing GS2 header");
        }
        String flag = clientFirst.substring(0, firstComma);
        String authzid = clientFirst.substring(firstComma + 1, secondComma);
        boolean plus = SCRAM_SHA_256_PLUS.equals(mechanism);
        switch (flag) {
            case "n" -> {
                if (plus) {
                    throw new ScramFailure("channel binding was selected but the client did not send it");
                }
            }
            case "y" -> {
                // The client supports channel binding but thinks we do not: if we offered it, that is a downgrade.
                if (channelBinding != null) {
                    throw new ScramFailure("SCRAM channel binding negotiation error");
                }
            }
            default -> {
                if (!flag.equals("p=" + TLS_SERVER_END_POINT) || !plus) {
                    throw new ScramFailure("unsupported SCRAM channel-binding type or mechanism mismatch");
                }
                usesChannelBinding = true;
            }
        }
        if (!authzid.isEmpty()) {
            throw new ScramFailure("client uses authorization identity, but it is not supported");
        }
        gs2Header = clientFirst.substring(0, secondComma + 1);
        clientFirstBare = clientFirst.substring(secondComma + 1);
        ScramAttributes attrs = new ScramAttributes(clientFirstBare);
        attrs.require('n');
        String clientNonce = attrs.require('r');
        if (!ScramAttributes.printableNonce(clientNonce)) {
            throw new ScramFailure("malformed SCRAM message: invalid nonce");
        }
        byte[] random = new byte[18];
        RANDOM.nextBytes(random);
        nonce = clientNonce + Base64.getEncoder().encodeToString(random);
        serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(credentials.salt())
                + ",i=" + credentials.iterations();
        return serverFirst;
    }

    public String serverFinal(String clientFinal) throws ScramFailure {
        if (serverFirst == null) {
            throw new ScramFailure("SCRAM final message before the first one");
        }
        int proofAt = clientFinal.lastIndexOf(",p=");
        if (proofAt < 0) {
            throw new ScramFailure("malformed SCRAM message: missing proof");
        }
        String withoutProof = clientFinal.substring(0, proofAt);
        ScramAttributes attrs = new ScramAttributes(withoutProof);
        byte[] cbind = ScramAttributes.base64(attrs.require('c'));
        byte[] expected = expectedChannelBindingInput();
        if (!MessageDigest.isEqual(cbind, expected)) {
            throw new ScramFailure("SCRAM channel binding check failed");
        }
        if (!nonce.equals(attrs.require('r'))) {
            throw new ScramFailure("SCRAM nonce mismatch");
        }
        byte[] proof = ScramAttributes.base64(clientFinal.substring(proofAt + 3));
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        boolean valid = proof.length == credentials.storedKey().length
                && ScramFunctions.verifyClientProof(ScramMechanism.SCRAM_SHA_256, proof, credentials.storedKey(), authMessage);
        if (!valid || !credentialsAreReal) {
            throw new ScramFailure("password does not match");
        }
        byte[] signature = ScramFunctions.serverSignature(ScramMechanism.SCRAM_SHA_256, credentials.serverKey(), authMessage);
        return "v=" + Base64.getEncoder().encodeToString(signature);
    }

    private byte[] expectedChannelBindingInput() {
        byte[] header = gs2Header.getBytes(StandardCharsets.US_ASCII);
        if (!usesChannelBinding) {
            return header;
        }
        byte[] out = new byte[header.length + channelBinding.length];
        System.arraycopy(header, 0, out, 0, header.length);
        System.arraycopy(channelBinding, 0, out, header.length, channelBinding.length);
        return out;
    }
}

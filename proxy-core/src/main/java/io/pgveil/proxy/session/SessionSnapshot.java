package io.pgveil.proxy.session;

/**
 * A point-in-time view of one session, for stats and tests.
 *
 * @param id                   pgveil's session id
 * @param state                start-up phase or READY
 * @param user                 the authenticated user name (null before authentication)
 * @param clientPendingBytes   bytes queued towards the client and not yet written to its socket
 * @param upstreamPendingBytes bytes queued towards the upstream and not yet written to its socket
 * @param readingClient        false while pgveil has stopped reading from the client (backpressure, start-up)
 * @param readingUpstream      false while pgveil has stopped reading from the upstream (backpressure)
 * @param transactionStatus    the last ReadyForQuery status: I, T or E
 */
public record SessionSnapshot(String id, String state, String user, long clientPendingBytes, long upstreamPendingBytes,
                              boolean readingClient, boolean readingUpstream, char transactionStatus) {
}

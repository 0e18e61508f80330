package io.pgveil.proxy.relay;

/** What checks may read of the session as the relay follows it. */
interface SessionView {
    /** The transaction status of the last ReadyForQuery: I, T or E. */
    byte transactionStatus();

    /** The server's standard_conforming_strings (how backslashes in strings read). */
    boolean standardConformingStrings();

    /** The server's application_name, as last reported. */
    String applicationName();
}

package io.pgveil.proxy.pgwire;

/** The SQLSTATE codes pgveil itself raises (PostgreSQL Appendix A). */
public final class SqlState {
    public static final String CONNECTION_FAILURE = "08006";
    public static final String UNABLE_TO_CONNECT = "08001";
    public static final String PROTOCOL_VIOLATION = "08P01";
    public static final String FEATURE_NOT_SUPPORTED = "0A000";
    public static final String INVALID_AUTHORIZATION = "28000";
    public static final String INVALID_PASSWORD = "28P01";
    public static final String SYNTAX_ERROR = "42601";
    public static final String INSUFFICIENT_PRIVILEGE = "42501";
    public static final String TOO_MANY_CONNECTIONS = "53300";
    public static final String ADMIN_SHUTDOWN = "57P01";
    public static final String IDLE_SESSION_TIMEOUT = "57P05";
    public static final String QUERY_CANCELED = "57014";
    public static final String INTERNAL_ERROR = "XX000";
    public static final String OUT_OF_MEMORY = "53200";
    public static final String CONFIGURATION_LIMIT_EXCEEDED = "53400";

    private SqlState() {
    }
}
